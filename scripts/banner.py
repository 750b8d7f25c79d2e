"""What `make up` prints before it starts the process set: where to look, and tokens to try."""

from minhbach_shared.auth import Role, issue_token
from minhbach_shared.settings import BaseServiceSettings

settings = BaseServiceSettings()
tokens = {role: issue_token(settings.jwt_secret, subject=f"demo-{role}", roles=[role]) for role in Role}

print(
    f"""
Minh Bạch is starting (Ctrl-C stops everything).

  Portal (reform section)   http://127.0.0.1:8004/portal/
  Service-centre kiosk      http://127.0.0.1:8004/center/
  Procedures API + docs     http://127.0.0.1:8001/docs
  Content API + docs        http://127.0.0.1:8002/docs
  Hotline API + docs        http://127.0.0.1:8003/docs
  Notifier API + docs       http://127.0.0.1:8004/docs
  Disclosure report         http://127.0.0.1:8004/v1/disclosure/report
  Queues                    http://127.0.0.1:8004/v1/ops/queues
  Flower (Celery)           http://127.0.0.1:5555/
  dvc stand-in (received)   http://127.0.0.1:8010/received   (the external portal's webhooks)

Demo tokens (local default secret; `make token ROLE=approver` prints one):
  editor    {tokens[Role.EDITOR]}
  approver  {tokens[Role.APPROVER]}
  operator  {tokens[Role.OPERATOR]}

Try:  curl 'http://127.0.0.1:8001/v1/procedures?q=giay+phep+xay+dung'
"""
)
