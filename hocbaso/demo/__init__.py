"""What a real school never runs: the demo PKI and its services, the stand-ins for
CSDL Học bạ số (and, later, remote signing), the sample school and its templates.

Nothing outside this package imports it except ``hocbaso.resources`` (which picks
demo or real parts once per workspace) and the tests, benchmarks and the `hbs demo`
verb. A real school's run never loads certomancer, FastAPI, uvicorn or werkzeug.
"""
