"""Operations: backup, the set-up check (`doctor`) and the email intake run by `serve`."""
