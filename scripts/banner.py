"""What `make up` prints before it starts the process set: where to look, and tokens to try.

Ports follow the same variables as the Procfile (PROCEDURES_PORT, ..., MB_FLOWER_PORT).
"""

import os

from minhbach_shared.auth import Role, issue_token
from minhbach_shared.settings import BaseServiceSettings

settings = BaseServiceSettings()
tokens = {role: issue_token(settings.jwt_secret, subject=f"demo-{role}", roles=[role]) for role in Role}


def url(variable: str, default: int, path: str = "/") -> str:
    return f"http://127.0.0.1:{os.environ.get(variable) or default}{path}"


procedures = url("PROCEDURES_PORT", 8001, "")
notifier = url("NOTIFIER_PORT", 8004, "")
print(
    f"""
Minh Bạch is starting (Ctrl-C stops everything).

  Portal (reform section)   {notifier}/portal/
  Service-centre kiosk      {notifier}/center/
  Procedures API + docs     {procedures}/docs
  Content API + docs        {url("CONTENT_PORT", 8002, "/docs")}
  Hotline API + docs        {url("HOTLINE_PORT", 8003, "/docs")}
  Notifier API + docs       {notifier}/docs
  Disclosure report         {notifier}/v1/disclosure/report
  Queues                    {notifier}/v1/ops/queues
  Flower (Celery)           {url("MB_FLOWER_PORT", 5555)}
  dvc stand-in (received)   {url("DVC_STANDIN_PORT", 8010, "/received")}   (the external portal's webhooks)

Demo tokens (local default secret; `make token ROLE=approver` prints one):
  editor    {tokens[Role.EDITOR]}
  approver  {tokens[Role.APPROVER]}
  operator  {tokens[Role.OPERATOR]}

Try:  curl '{procedures}/v1/procedures?q=giay+phep+xay+dung'
"""
)
