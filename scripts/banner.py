"""What `make up` prints before it starts the process set: where to look, and who to sign in as.

Ports follow the same variables as the Procfile (PROCEDURES_PORT, ..., MB_FLOWER_PORT).
"""

import os

from console.domain import DEMO_ACCOUNTS, DEMO_PASSWORD


def url(variable: str, default: int, path: str = "/") -> str:
    return f"http://127.0.0.1:{os.environ.get(variable) or default}{path}"


procedures = url("PROCEDURES_PORT", 8001, "")
notifier = url("NOTIFIER_PORT", 8004, "")
search = url("SEARCH_PORT", 8006, "")
accounts = "\n".join(
    f"  {username:<10} {DEMO_PASSWORD}   {', '.join(r.value for r in roles)}"
    for username, _, roles in DEMO_ACCOUNTS
)
print(
    f"""
Minh Bạch is starting (Ctrl-C stops everything).

  Console (back office)     {url("CONSOLE_PORT", 8005, "/console/")}
  Portal (reform section)   {notifier}/portal/
  Public search             {notifier}/portal/tim-kiem?q=giay+phep   (service: {search})
  Service-centre kiosk      {notifier}/center/
  Procedures API + docs     {procedures}/docs
  Content API + docs        {url("CONTENT_PORT", 8002, "/docs")}
  Hotline API + docs        {url("HOTLINE_PORT", 8003, "/docs")}
  Notifier API + docs       {notifier}/docs
  Disclosure report         {notifier}/v1/disclosure/report   (operator token)
  Queues                    {notifier}/v1/ops/queues   (operator token)
  Flower (Celery)           {url("MB_FLOWER_PORT", 5555)}
  dvc stand-in (received)   {url("DVC_STANDIN_PORT", 8010, "/received")}   (the external portal's webhooks)

Demo accounts for the console (local only; production refuses to start with them):
{accounts}

Tokens for scripts: `make token ROLE=editor` (15 minutes, signed with the console's key);
the operator's reads need one: curl -H "Authorization: Bearer $(make -s token ROLE=operator)" ...
Try:  curl '{procedures}/v1/procedures?q=giay+phep+xay+dung'
"""
)
