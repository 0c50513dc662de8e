"""Django's PostgreSQL backend, connecting to the embedded server (started on first use).

Settings: ``ENGINE = "config.db_backends.embedded_postgresql"``, ``NAME``, and ``DATA_DIR``
(the server's data folder). Starting lazily, at the first connection, keeps commands that
never touch the database (``help``, ``collectstatic``) from starting a server.
"""

from django.db.backends.postgresql import base, client

from config import embedded_postgres


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        params["host"] = str(embedded_postgres.start(self.settings_dict["DATA_DIR"]))
        params["user"] = embedded_postgres.USER
        return params


class DatabaseClient(client.DatabaseClient):
    """``manage.py dbshell`` on the embedded server."""

    @classmethod
    def settings_to_cmd_args_env(cls, settings_dict, parameters):
        settings_dict = {
            **settings_dict,
            "HOST": str(embedded_postgres.start(settings_dict["DATA_DIR"])),
            "USER": embedded_postgres.USER,
        }
        return super().settings_to_cmd_args_env(settings_dict, parameters)


DatabaseWrapper.client_class = DatabaseClient
