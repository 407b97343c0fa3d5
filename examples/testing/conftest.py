"""Makes ``support_desk`` importable from the tests when pytest runs in this folder."""
