"""What an event is: the columnar model, readers and writers, kinematics, the generator (pure)."""
