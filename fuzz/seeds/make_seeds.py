#!/usr/bin/env python3
"""Writes the committed seed corpora of the fuzz targets (fuzz/corpus/<target>/).

Tokens are signed with the fuzz harness's fixed test-only key (read from fuzz/src/lib.rs) using
the openssl command line, so the seeds verify in the harness. Times are absolute and far in the
future (2100) or past, so seeds keep their meaning. Run from anywhere: python3 fuzz/seeds/make_seeds.py
"""
import base64, hashlib, json, os, re, shutil, subprocess, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FUZZ = os.path.dirname(HERE)
LIB = open(os.path.join(FUZZ, "src", "lib.rs")).read()
PEM = re.search(r'TEST_ONLY_PRIVATE_KEY: &str = "(-----BEGIN PRIVATE KEY-----.*?-----END PRIVATE KEY-----)"', LIB, re.S).group(1)
KID = "ins_fuzz"
APP = "https://app.example.com"
PROD, DEV = "clerk.example.com", "fine-ant-12.clerk.accounts.dev"
FUTURE, PAST = 4102444800, 946684800  # 2100-01-01, 2000-01-01

def b64u(b):
    if isinstance(b, str):
        b = b.encode()
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def pk(instance, host):
    return f"pk_{instance}_" + base64.b64encode(f"{host}$".encode()).decode().rstrip("=")

def suffix(pk):
    return base64.urlsafe_b64encode(hashlib.sha1(pk.encode()).digest()).decode()[:8]

SFX_PROD, SFX_DEV = suffix(pk("live", PROD)), suffix(pk("test", DEV))

keyfile = tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False)
keyfile.write(PEM + "\n"); keyfile.close()

def sign_segments(h, p):
    inp = f"{h}.{p}".encode()
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", keyfile.name], input=inp, capture_output=True, check=True).stdout
    return f"{h}.{p}.{b64u(sig)}"

def token(claims=None, header=None, raw_payload=None, raw_header=None):
    h = raw_header if raw_header is not None else json.dumps(header or {"alg": "RS256", "kid": KID, "typ": "JWT"}, separators=(",", ":"))
    p = raw_payload if raw_payload is not None else json.dumps(claims, separators=(",", ":"))
    return sign_segments(b64u(h), b64u(p))

def claims(iss=PROD, **over):
    c = {"azp": APP, "exp": FUTURE, "iat": PAST, "iss": f"https://{iss}", "nbf": PAST, "sid": "sess_fuzz", "sub": "user_fuzz"}
    for k, v in over.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c

V2 = dict(v=2, fea="o:impersonation,o:memberships,u:dashboard", pla="o:pro,u:free_user",
          o={"id": "org_1", "rol": "admin", "slg": "acme", "per": "read,manage", "fpm": "1,3"}, fva=[3, -1])

def write(target, items):
    d = os.path.join(FUZZ, "corpus", target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for name, data in items:
        if isinstance(data, str):
            data = data.encode("latin-1")
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)

good = token(claims())
header_seeds = [
    ("valid", f"Bearer {good}"),
    ("valid-bare", good),
    ("valid-padded-sig", f"Bearer {good}=="),
    ("valid-v2-org", f"Bearer {token(claims(**V2))}"),
    ("valid-v1-org", f"Bearer {token(claims(org_id='org_2', org_role='org:admin', org_permissions=['org:memberships:read']))}"),
    ("expired", f"Bearer {token(claims(exp=PAST))}"),
    ("expired-post", f"PBearer {token(claims(exp=PAST))}"),
    ("nbf-future", f"Bearer {token(claims(nbf=FUTURE))}"),
    ("iat-future", f"Bearer {token(claims(iat=FUTURE))}"),
    ("exp-string", f"Bearer {token(claims(exp='123'))}"),
    ("bad-azp", f"Bearer {token(claims(azp='https://evil.example.net'))}"),
    ("no-sub", f"Bearer {token(claims(sub=None))}"),
    ("machine-sub", f"Bearer {token(claims(sub='mch_1'))}"),
    ("typ-at-jwt", f"Bearer {token(claims(), header={'alg': 'RS256', 'typ': 'at+jwt'})}"),
    ("cat-other", f"Bearer {token(claims(), header={'alg': 'RS256', 'cat': 'cl_other'})}"),
    ("typ-foo", f"Bearer {token(claims(), header={'alg': 'RS256', 'typ': 'foo'})}"),
    ("alg-none", "Bearer " + b64u('{"alg":"none"}') + "." + b64u(json.dumps(claims())) + "."),
    ("alg-hs256", "Bearer " + b64u('{"alg":"HS256","typ":"JWT"}') + "." + b64u(json.dumps(claims())) + ".c2lnbmF0dXJl"),
    ("alg-rs512", f"Bearer {token(claims(), header={'alg': 'RS512', 'kid': KID})}"),
    ("forged-sig", f"Bearer {good[:-4]}AAAA"),
    ("payload-null", f"Bearer {token(raw_payload='null')}"),
    ("header-null", f"Bearer {token(claims(), raw_header='null')}"),
    ("empty-json", "Bearer e30.e30."),
    ("two-parts", "Bearer a.b"),
    ("bearer-only", "Bearer"),
    ("lowercase-scheme", f"bearer {good}"),
    ("basic", "Basic dXNlcjpwYXNz"),
    ("api-key", "Bearer ak_live_123"),
    ("latin1", "Bearer \xff\xfe.\x85.\xa0"),
]
write("authenticate_header", header_seeds)

dev_good = token(claims(iss=DEV))
cookie_seeds = [
    ("valid", f"__session={good}; __client_uat=1"),
    ("valid-suffixed", f"__session_{SFX_PROD}={good}; __client_uat_{SFX_PROD}=1; __session=x; __client_uat=0"),
    ("valid-dev", f"__session={dev_good}; __client_uat=1; __clerk_db_jwt=dvb_1"),
    ("valid-dev-suffixed", f"__session_{SFX_DEV}={dev_good}; __client_uat_{SFX_DEV}=5; __clerk_db_jwt_{SFX_DEV}=dvb_1"),
    ("dev-query-db-jwt", f"?__clerk_db_jwt=dvb_q\n__session={dev_good}; __client_uat=1"),
    ("dev-redirect-url", f"?__clerk_redirect_url=https%3A%2F%2Fa.example.com\n__session={dev_good}; __client_uat=1"),
    ("foreign-iss", f"__session={token(claims(iss='other.example.net'))}; __client_uat=1"),
    ("no-iss", f"__session={token({k: v for k, v in claims().items() if k != 'iss'})}; __client_uat=1"),
    ("both-pairs-newer-plain", f"__session={token(claims(iat=PAST + 100))}; __client_uat=7; __session_{SFX_PROD}={token(claims(iat=PAST))}; __client_uat_{SFX_PROD}=9"),
    ("expired", f"__session={token(claims(exp=PAST))}; __client_uat=1"),
    ("iat-before-uat", f"__session={good}; __client_uat={FUTURE}"),
    ("uat-hex", f"__session={good}; __client_uat=0x10"),
    ("no-uat", f"__session={good}"),
    ("uat-only", "__client_uat=5"),
    ("percent", "__session=%65%79%4A; __client_uat=%31"),
    ("bad-percent", "__session=%E0%A4%A; __client_uat=1"),
    ("empty-first", f"__session=; __session={good}; __client_uat=1"),
    ("junk", "a=1; b; ;=; c=\"q\"; __session"),
    ("machine", f"__session={token(claims(sub='mch_1'))}; __client_uat=1"),
    ("latin1", "__session=\xff; __client_uat=\x855"),
]
write("authenticate_cookie", cookie_seeds)

def j(x):
    return json.dumps(x, separators=(",", ":"), ensure_ascii=False)

signed_seeds = [
    ("standard", j(claims())),
    ("v2-org", j(claims(**V2))),
    ("v2-big-fpm", j(claims(**{**V2, "o": {**V2["o"], "fpm": "9" * 300 + "1,18446744073709551617"}}))),
    ("v2-bad-fea", j(claims(**{**V2, "fea": "impersonation"}))),
    ("v2-fpm-number", j(claims(**{**V2, "o": {**V2["o"], "fpm": 3}}))),
    ("v1-org", j(claims(org_id="org_2", org_role="admin", org_slug="s", org_permissions=["org:x:read"], fea="o:x", pla="u:pro"))),
    ("actor", j(claims(act={"sub": "user_admin", "sid": "sess_a"}))),
    ("pending", j(claims(sts="pending"))),
    ("fva-odd", j(claims(fva=[-1, 9]))),
    ("fva-strings", j(claims(fva=["5", "5"]))),
    ("exp-string", j(claims(exp="4102444800"))),
    ("exp-float", j(claims(exp=4102444800.5))),
    ("exp-huge", '{"sub":"user_fuzz","exp":1e300,"iat":-1e300,"nbf":-1e300}'),
    ("no-azp", j(claims(azp=None))),
    ("aud-array", j(claims(aud=["a", "b"]))),
    ("sub-number", j(claims(sub=5))),
    ("dup-keys", '{"sub":"a","exp":4102444800,"sub":"b","iat":1,"iat":2}'),
    ("null", "null"),
    ("array", "[]"),
    ("unicode", j(claims(name="Zoë ☃ 🔑"))),
    ("bom", "\ufeff" + j(claims())),
]
write("signed_claims", [(n, d.encode("utf-8")) for n, d in signed_seeds])
os.unlink(keyfile.name)
total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(os.path.join(FUZZ, "corpus")) for f in fs)
print(f"seeds: {len(header_seeds)} header, {len(cookie_seeds)} cookie, {len(signed_seeds)} signed; {total} bytes")
