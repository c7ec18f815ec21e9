"""clearsim: discrete-event simulator for shadow-price reasoning-token allocation."""

__version__ = "0.1.0"
