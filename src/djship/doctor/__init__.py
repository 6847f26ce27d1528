"""`djship doctor`: audits a Docker + Django setup (made by djship or not) and says, for each
finding, what is wrong, where, why it matters and how to fix it."""
