"""The hotline's subjects as the notifier keeps them: public answers, statistics, overdue reminders."""
