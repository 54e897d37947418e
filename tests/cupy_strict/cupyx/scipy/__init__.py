"""cupyx.scipy for the strict stand-in (only special is modelled)."""
