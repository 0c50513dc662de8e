from recommender.behaviour import privacy


def consent(request) -> dict:
    """Whether the storefront's pages ask the shopper to consent to recording (the banner)."""
    return {"consent_asked": privacy.consent_asked(request)}
