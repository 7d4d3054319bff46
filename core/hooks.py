"""Hooks: how an app lets the apps above it take part in one of its operations.

Dependencies run one way (stores <- members <- loyalty <- wallet <- countcards <- sales <-
campaigns): members may not import loyalty, yet opening a member opens their points account
and wallet in the same transaction. So members declares a hook and calls it at that point of
its service; loyalty and wallet connect their own services to it in `AppConfig.ready()`.

Unlike Django signals, a hook is called by the service itself (never by `save()`), runs its
receivers in the order they connected (the apps' order in INSTALLED_APPS), lets their errors
propagate (the transaction rolls back whole), and collects what they return.
"""


class Hook:
    def __init__(self, name, doc=""):
        self.name = name
        self.__doc__ = doc
        self._receivers = []

    def connect(self, receiver):
        """Call `receiver(**kwargs)` each time the hook runs. Connecting twice is a no-op."""
        if receiver not in self._receivers:
            self._receivers.append(receiver)
        return receiver

    def disconnect(self, receiver):
        if receiver in self._receivers:
            self._receivers.remove(receiver)

    @property
    def receivers(self):
        return tuple(self._receivers)

    def run(self, **kwargs):
        """Call every receiver with `kwargs`; returns their answers in order."""
        return [receiver(**kwargs) for receiver in self._receivers]

    def __repr__(self):
        return f"<Hook {self.name}: {len(self._receivers)} receivers>"
