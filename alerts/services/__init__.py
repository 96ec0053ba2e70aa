"""Every write about alerts, one module per concern:

- `processing`: the devices' event outbox and threshold rules → alerts, with their first step;
- `escalation`: who is told at each step (routing) and the escalation tick;
- `lifecycle`: acknowledge, dispatch, resolve, note — by a person, through any door;
- `sweeps`: offline, low battery and cleared conditions;
- `delivery`: sending notifications through the transports, retries, dead letters;
- `preferences`: a member's channels for alerts that are not life-safety.
"""
