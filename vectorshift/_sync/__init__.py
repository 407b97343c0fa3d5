"""The sync face of the SDK: a private event-loop thread and the generated sync methods."""
