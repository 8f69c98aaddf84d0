"""A job that takes Redis down while a worker is busy with it (the worker's own bookkeeping fails next)."""
from redis import Redis


def shut_redis_down(url):
    """SHUTDOWN NOSAVE the Redis at url, from inside a running job."""
    Redis.from_url(url).shutdown(nosave=True)
