def test_a(timing_catalogue):
    pass


def test_b(timing_catalogue):
    pass
