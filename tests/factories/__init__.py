"""factory_boy factories by app: catalogue, orders, recommender (random vectors), staff."""
