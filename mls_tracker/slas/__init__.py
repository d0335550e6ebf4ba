"""SLAs, their effective-dated targets, the month grid and monthly actuals."""
