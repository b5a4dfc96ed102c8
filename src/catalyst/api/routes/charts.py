"""``/api/charts``: the chart catalogue and each chart's default values."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from catalyst.api.auth import CurrentCaller
from catalyst.api.dependencies import Services
from catalyst.api.openapi import error_responses
from catalyst.api.schemas import ChartDetail, ChartSummary

router = APIRouter(prefix="/charts", tags=["charts"])


@router.get(
    "",
    responses={200: {"model": list[ChartSummary]}, **error_responses(401)},
    summary="List charts",
)
async def list_charts(caller: CurrentCaller, services: Services) -> JSONResponse:
    charts = await services.charts.list()
    return JSONResponse(
        [
            ChartSummary(name=c.name, version=c.version, description=c.description).model_dump()
            for c in charts
        ]
    )


@router.get(
    "/{name}",
    responses={200: {"model": ChartDetail}, **error_responses(401, 404)},
    summary="One chart's defaults",
)
async def get_chart(name: str, caller: CurrentCaller, services: Services) -> JSONResponse:
    chart = await services.charts.get(name)
    return JSONResponse(
        ChartDetail(
            name=chart.name, version=chart.version, defaultValues=chart.default_values
        ).model_dump()
    )
