"""Flask extensions, created unbound and bound to an app in ``create_app``."""

from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_mail import Mail
from flask_migrate import Migrate
from flask_security import Security
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from mls_tracker.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
security = Security()
mail = Mail()
bootstrap = Bootstrap5()
limiter = Limiter(get_remote_address, default_limits=[], headers_enabled=False)
