from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

# Mainland mobiles, landlines with area codes and extensions, and international numbers.
phone_validator = RegexValidator(r"^\+?[\d\- ]{5,20}$", _("Enter a valid phone number."))
