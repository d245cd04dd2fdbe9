"""Utilities beside the socket API, as pyzmq has them (layer L3): ``zlab.utils.monitor``,
``zlab.utils.z85``, ``zlab.utils.statistics``."""
