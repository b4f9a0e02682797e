from ninja import NinjaAPI

api = NinjaAPI(title="devdesk API", version="1", urls_namespace="api")
