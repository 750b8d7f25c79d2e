"""What operators do and read: retry a delivery, resync a channel, the channels' status, the report."""
