{# The id of the one daily_login fact of a user and business day: daily-login:{user_id}:{day_key}. #}
{% macro tracking_daily_login_event_id(user_id_expression, day_key_expression) -%}
    'daily-login:' || {{ user_id_expression }} || ':' || {{ calendar_text(day_key_expression, 'date') }}
{%- endmacro %}
