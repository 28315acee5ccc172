"""`GET /metadata/endpoints?api-version=...`: ARM's cloud metadata document, naming the sandbox itself as
the resource manager, so `az cloud register --name Sandbox --endpoint-resource-manager https://127.0.0.1:PORT`
works without `--skip-endpoint-discovery`.

ARM serves three shapes, chosen by api-version:
- 2022-09-01 and later (what `az cloud register` asks for): one cloud object;
- 2019-05-01 up to 2022: a list of cloud objects (what azure-cli's `ARM_CLOUD_METADATA_URL` reads);
- older (2015-01-01): the legacy object with `galleryEndpoint`, `graphEndpoint`, `portalEndpoint` and
  `authentication`.
Every endpoint other than the resource manager is the public cloud's: the sandbox serves only ARM. No
token is needed, as on management.azure.com.
"""

from __future__ import annotations

from typing import Any

from acs_sandbox.http import Request, Response, Router, arm_error

LIST_SINCE = "2019-05-01"
SINGLE_SINCE = "2022-09-01"
LOGIN = "https://login.microsoftonline.com"
AUDIENCE = "https://management.core.windows.net/"


def cloud(resource_manager: str) -> dict[str, Any]:
    """The cloud object of the 2019-05-01+ documents, with the sandbox as its resource manager."""
    return {
        "portal": "https://portal.azure.com",
        "authentication": {
            "loginEndpoint": LOGIN,
            "audiences": [AUDIENCE, "https://management.azure.com/"],
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "media": "https://rest.media.azure.net",
        "graphAudience": "https://graph.windows.net/",
        "graph": "https://graph.windows.net/",
        "name": "AzureCloud",
        "suffixes": {
            "azureDataLakeStoreFileSystem": "azuredatalakestore.net",
            "acrLoginServer": "azurecr.io",
            "sqlServerHostname": "database.windows.net",
            "azureDataLakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
            "keyVaultDns": "vault.azure.net",
            "storage": "core.windows.net",
            "azureFrontDoorEndpointSuffix": "azurefd.net",
            "storageSyncEndpointSuffix": "afs.azure.net",
            "mhsmDns": "managedhsm.azure.net",
            "mysqlServerEndpoint": "mysql.database.azure.com",
            "postgresqlServerEndpoint": "postgres.database.azure.com",
            "mariadbServerEndpoint": "mariadb.database.azure.com",
            "synapseAnalytics": "dev.azuresynapse.net",
            "attestationEndpoint": "attest.azure.net",
        },
        "batch": "https://batch.core.windows.net/",
        "gallery": "https://gallery.azure.com/",
        "resourceManager": resource_manager,
        "vmImageAliasDoc": "https://raw.githubusercontent.com/Azure/azure-rest-api-specs/main/arm-compute/quickstart-templates/aliases.json",
        "activeDirectoryDataLake": "https://datalake.azure.net/",
        "sqlManagement": "https://management.core.windows.net:8443/",
        "microsoftGraphResourceId": "https://graph.microsoft.com/",
        "appInsightsResourceId": "https://api.applicationinsights.io",
        "appInsightsTelemetryChannelResourceId": "https://dc.applicationinsights.azure.com/v2/track",
        "attestationResourceId": "https://attest.azure.net",
        "synapseAnalyticsResourceId": "https://dev.azuresynapse.net",
        "logAnalyticsResourceId": "https://api.loganalytics.io",
        "ossrDbmsResourceId": "https://ossrdbms-aad.database.windows.net",
    }


def legacy(resource_manager: str) -> dict[str, Any]:
    """The 2015-01-01 document (ARM's first shape)."""
    return {
        "galleryEndpoint": "https://gallery.azure.com/",
        "graphEndpoint": "https://graph.windows.net/",
        "portalEndpoint": "https://portal.azure.com/",
        "authentication": {"loginEndpoint": LOGIN, "audiences": [AUDIENCE, "https://management.azure.com/"]},
        "resourceManager": resource_manager,
    }


def document(resource_manager: str, api_version: str) -> Any:
    if api_version >= SINGLE_SINCE:
        return cloud(resource_manager)
    if api_version >= LIST_SINCE:
        return [cloud(resource_manager)]
    return legacy(resource_manager)


def endpoints(request: Request) -> Response:
    version = request.param("api-version")
    if not version:
        return arm_error(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    return Response(200, document(request.base_url + "/", version))


def register(router: Router) -> None:
    router.add("GET", r"/metadata/endpoints", "metadata.endpoints", endpoints)
