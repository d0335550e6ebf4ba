"""Administration (admins only): the administration home, organisations and regions."""
