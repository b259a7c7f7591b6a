"""``course-analytics status``: where the warehouse is, the last syncs, the marts' sizes."""

from __future__ import annotations

from psycopg2 import sql

from flows.warehouse import MARTS_SCHEMA, RAW_SCHEMA, Warehouse


def _exists(cur, relation: str) -> bool:
    cur.execute("select to_regclass(%s)", (relation,))
    return cur.fetchone()[0] is not None


def warehouse_status(warehouse: Warehouse) -> str:
    lines = [f"warehouse: {warehouse.display}" + (" (embedded)" if warehouse.embedded else "")]
    if warehouse.embedded is not None:
        lines.append(f"  data directory: {warehouse.embedded.data_dir}")
    with warehouse.connect() as conn, conn.cursor() as cur:
        if _exists(cur, f"{RAW_SCHEMA}.sync_runs"):
            cur.execute(
                sql.SQL(
                    "select website_id, api_url, max(as_of), max(started_at), count(*) "
                    "from {}.sync_runs group by 1, 2 order by 1"
                ).format(sql.Identifier(RAW_SCHEMA))
            )
            for website_id, api_url, as_of, started_at, runs in cur.fetchall():
                lines.append(
                    f"last successful load: Umami {api_url} website {website_id}: data up to "
                    f"{as_of:%Y-%m-%dT%H:%M:%SZ}, started {started_at:%Y-%m-%dT%H:%M:%SZ} ({runs} loads)"
                )
        else:
            lines.append("last successful load: none yet")
        if _exists(cur, f"{MARTS_SCHEMA}.mart_publications"):
            cur.execute(
                sql.SQL(
                    "select published_at, as_of from {}.mart_publications order by published_at desc limit 1"
                ).format(sql.Identifier(MARTS_SCHEMA))
            )
            row = cur.fetchone()
            if row:
                lines.append(f"marts published: {row[0]:%Y-%m-%dT%H:%M:%SZ} (as of {row[1]})")
        cur.execute(
            "select table_name from information_schema.tables where table_schema = %s order by 1",
            (MARTS_SCHEMA,),
        )
        tables = [r[0] for r in cur.fetchall()]
        if not tables:
            lines.append(f"marts: schema {MARTS_SCHEMA} is empty (no successful transform yet)")
        for table in tables:
            cur.execute(
                sql.SQL("select count(*) from {}.{}").format(sql.Identifier(MARTS_SCHEMA), sql.Identifier(table))
            )
            lines.append(f"  {MARTS_SCHEMA}.{table}: {cur.fetchone()[0]} rows")
    return "\n".join(lines)
