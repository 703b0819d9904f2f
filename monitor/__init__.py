"""monitor: watches government and news sites for Chinese blockchain policy documents."""

__version__ = "0.1.0"
