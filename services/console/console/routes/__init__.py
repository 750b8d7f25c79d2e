"""The console's routes, one module per area: identity (the issuer's documents),
account (sign-in, sign-out, password), home (Việc cần làm), procedures, decisions."""
