from django.apps import AppConfig


class ServerprofilesConfig(AppConfig):
    name = "serverprofiles"
    verbose_name = "Server profiles"
