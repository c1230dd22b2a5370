#!/usr/bin/env python3
"""Validates rendered Kubernetes manifests offline; run by scripts/k8s-check.

1. Schema: every object against the strict JSON schema of one Kubernetes version (bundled with the
   PyPI package kubernetes-validate; unknown fields, wrong types and missing required fields fail,
   and so does a kind with no schema).
2. References inside each rendered overlay: selectors match pod templates; Services, Ingress
   backends, HPA and PDB targets, NetworkPolicy peers, ConfigMap/Secret references and named probe
   ports all point at something that exists.
3. Project rules: every container has resource requests and limits and a locked-down security
   context; Redis's config turns on `notify-keyspace-events Ex`; one namespace per overlay.
4. skaffold.yaml: parses, and its image, kustomize paths and port-forward match the manifests.

Usage: validate.py --kubernetes-version 1.30.0 --skaffold skaffold.yaml \
           --overlay dev=RENDERED.yaml[,TEMPLATE.yaml...] --overlay prod=...
Templates (e.g. a Secret that operators create by hand) are schema-checked and count as existing
for reference checks, but are not part of the rendered output.
"""

import argparse
import collections
import fnmatch
import glob
import json
import os
import re
import sys
from functools import lru_cache

import importlib_resources
import jsonschema
import yaml
from packaging.version import Version
from referencing import Registry, Resource

SCHEMA_ROOT = importlib_resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
MAX_ERRORS_PER_OBJECT = 10

errors: list[str] = []


def error(where: str, message: str) -> None:
    errors.append(f"{where}: {message}")


# ---------------------------------------------------------------------------------------------
# Schemas


def schema_dir(version: str) -> str:
    """The bundled strict schema directory for the newest version not newer than `version`."""
    wanted = Version(version)
    wanted_minor = (wanted.major, wanted.minor)
    available = []
    for entry in SCHEMA_ROOT.iterdir():
        m = re.fullmatch(r"v(\d+\.\d+\.\d+)-local-strict", entry.name)
        if m:
            v = Version(m.group(1))
            if (v.major, v.minor) <= wanted_minor:
                available.append(v)
    if not available:
        sys.exit(f"kubernetes-validate bundles no schema for Kubernetes {version}")
    best = max(available)
    if (best.major, best.minor) != wanted_minor:
        sys.exit(f"kubernetes-validate bundles no schema for Kubernetes {wanted_minor}; newest "
                 f"older one is {best}")
    return f"v{best}-local-strict"


@lru_cache(maxsize=None)
def load_json(directory: str, name: str):
    path = SCHEMA_ROOT.joinpath(directory).joinpath(name)
    with importlib_resources.as_file(path) as p:
        if not os.path.exists(p):
            return None
        with open(p) as f:
            return json.load(f)


@lru_cache(maxsize=None)
def validator_for(directory: str, kind: str, api_version: str):
    # Same file naming as kubernetes-validate: apps/v1 -> apps-v1, networking.k8s.io/v1 ->
    # networking-v1, v1 -> v1.
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema = load_json(directory, f"{kind.lower()}-{group_version}.json")
    if schema is None:
        return None
    definitions = load_json(directory, "_definitions.json")
    registry = Resource.from_contents(definitions) @ Registry()
    registry = Resource.from_contents(schema) @ registry
    return jsonschema.Draft202012Validator(schema, registry=registry)


def validate_schema(directory: str, obj: dict, where: str) -> None:
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    if not isinstance(kind, str) or not isinstance(api_version, str):
        error(where, "no kind or apiVersion")
        return
    validator = validator_for(directory, kind, api_version)
    if validator is None:
        error(where, f"no schema for {api_version} {kind} in {directory} (unknown or removed API)")
        return
    found = sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))
    for e in found[:MAX_ERRORS_PER_OBJECT]:
        path = ".".join(str(p) for p in e.absolute_path) or "(root)"
        error(where, f"schema: {path}: {e.message}")
    if len(found) > MAX_ERRORS_PER_OBJECT:
        error(where, f"schema: … and {len(found) - MAX_ERRORS_PER_OBJECT} more errors")


# ---------------------------------------------------------------------------------------------
# Loading


def load_docs(path: str) -> list[dict]:
    with open(path) as f:
        try:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
        except yaml.YAMLError as e:
            error(path, f"not valid YAML: {e}")
            return []
    for d in docs:
        if not isinstance(d, dict):
            error(path, f"a document is not a mapping: {d!r:.60}")
    return [d for d in docs if isinstance(d, dict)]


def ident(obj: dict) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{obj.get('kind')}/{(ns + '/') if ns else ''}{meta.get('name')}"


# ---------------------------------------------------------------------------------------------
# References and rules within one overlay


def selector_matches(selector: dict | None, labels: dict) -> bool:
    """matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist) against labels."""
    if not selector:
        return True
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def pod_templates(objs):
    for o in objs:
        if o.get("kind") in WORKLOAD_KINDS:
            template = ((o.get("spec") or {}).get("template")) or {}
            yield o, (template.get("metadata") or {}).get("labels") or {}, template.get("spec") or {}


def containers_of(pod_spec: dict):
    return list(pod_spec.get("initContainers") or []) + list(pod_spec.get("containers") or [])


def check_overlay(name: str, objs: list[dict], templates: list[dict]) -> None:
    where = f"[{name}]"
    by_kind_name = collections.defaultdict(dict)
    for o in objs + templates:
        by_kind_name[o.get("kind")][(o.get("metadata") or {}).get("name")] = o

    # Unique objects, one namespace.
    seen = collections.Counter(ident(o) for o in objs)
    for i, n in seen.items():
        if n > 1:
            error(where, f"{i} appears {n} times")
    namespaces = {(o.get("metadata") or {}).get("name") for o in objs if o.get("kind") == "Namespace"}
    for o in objs:
        if o.get("kind") in ("Namespace", "ClusterRole", "ClusterRoleBinding", "IngressClass"):
            continue
        ns = (o.get("metadata") or {}).get("namespace")
        if not ns:
            error(where, f"{ident(o)} has no namespace")
        elif namespaces and ns not in namespaces:
            error(where, f"{ident(o)} is in namespace {ns}, not in {sorted(namespaces)}")

    workloads = list(pod_templates(objs))

    for o, labels, pod in workloads:
        oid = f"{where} {ident(o)}"
        sel = (o.get("spec") or {}).get("selector")
        if o.get("kind") != "Job" and not selector_matches(sel, labels):
            error(oid, "spec.selector does not match the pod template's labels")
        # Project rules for every container.
        pod_sc = pod.get("securityContext") or {}
        if (pod_sc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            error(oid, "pod securityContext.seccompProfile.type is not RuntimeDefault")
        volumes = {v.get("name"): v for v in pod.get("volumes") or []}
        claim_templates = {
            (t.get("metadata") or {}).get("name")
            for t in (o.get("spec") or {}).get("volumeClaimTemplates") or []
        }
        for c in containers_of(pod):
            cid = f"{oid} container {c.get('name')}"
            sc = c.get("securityContext") or {}
            if not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")):
                error(cid, "runAsNonRoot is not true")
            if sc.get("readOnlyRootFilesystem") is not True:
                error(cid, "readOnlyRootFilesystem is not true")
            if sc.get("allowPrivilegeEscalation") is not False:
                error(cid, "allowPrivilegeEscalation is not false")
            if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                error(cid, "capabilities.drop does not include ALL")
            res = c.get("resources") or {}
            for part in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in (res.get(part) or {}):
                        error(cid, f"resources.{part}.{r} is not set")
            port_names = {p.get("name") for p in c.get("ports") or [] if p.get("name")}
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                p = c.get(probe) or {}
                for handler in ("httpGet", "tcpSocket", "grpc"):
                    port = (p.get(handler) or {}).get("port")
                    if isinstance(port, str) and port not in port_names:
                        error(cid, f"{probe}.{handler}.port {port!r} is not a named port")
            for m in c.get("volumeMounts") or []:
                if m.get("name") not in volumes and m.get("name") not in claim_templates:
                    error(cid, f"volumeMount {m.get('name')!r} has no volume")
            for ef in c.get("envFrom") or []:
                for ref_kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                    ref = ef.get(key)
                    if ref and not ref.get("optional") and ref.get("name") not in by_kind_name[ref_kind]:
                        error(cid, f"envFrom {ref_kind} {ref.get('name')!r} does not exist")
            for env in c.get("env") or []:
                vf = env.get("valueFrom") or {}
                for ref_kind, key in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
                    ref = vf.get(key)
                    if ref and not ref.get("optional") and ref.get("name") not in by_kind_name[ref_kind]:
                        error(cid, f"env {env.get('name')} {ref_kind} {ref.get('name')!r} does not exist")
        for v in volumes.values():
            if "configMap" in v and not v["configMap"].get("optional"):
                if v["configMap"].get("name") not in by_kind_name["ConfigMap"]:
                    error(oid, f"volume {v.get('name')}: ConfigMap {v['configMap'].get('name')!r} does not exist")
            if "secret" in v and not v["secret"].get("optional"):
                if v["secret"].get("secretName") not in by_kind_name["Secret"]:
                    error(oid, f"volume {v.get('name')}: Secret {v['secret'].get('secretName')!r} does not exist")

    def matching_workloads(selector: dict | None):
        return [(o, pod) for o, labels, pod in workloads if selector_matches(selector, labels)]

    for o in objs:
        kind, spec = o.get("kind"), o.get("spec") or {}
        oid = f"{where} {ident(o)}"
        if kind == "Service" and spec.get("selector"):
            matched = matching_workloads({"matchLabels": spec["selector"]})
            if not matched:
                error(oid, "selector matches no pod template")
            for p in spec.get("ports") or []:
                tp = p.get("targetPort", p.get("port"))
                if isinstance(tp, str):
                    for w, pod in matched:
                        names = {cp.get("name") for c in containers_of(pod) for cp in c.get("ports") or []}
                        if tp not in names:
                            error(oid, f"targetPort {tp!r} is not a port of {ident(w)}")
        elif kind == "Ingress":
            backends = []
            if spec.get("defaultBackend"):
                backends.append(spec["defaultBackend"])
            for rule in spec.get("rules") or []:
                for path in ((rule.get("http") or {}).get("paths")) or []:
                    backends.append(path.get("backend") or {})
            for b in backends:
                svc_ref = b.get("service")
                if not svc_ref:
                    continue
                svc = by_kind_name["Service"].get(svc_ref.get("name"))
                if svc is None:
                    error(oid, f"backend Service {svc_ref.get('name')!r} does not exist")
                    continue
                port = svc_ref.get("port") or {}
                ports = (svc.get("spec") or {}).get("ports") or []
                if "name" in port and port["name"] not in {p.get("name") for p in ports}:
                    error(oid, f"backend port name {port['name']!r} is not a port of Service {svc_ref.get('name')}")
                if "number" in port and port["number"] not in {p.get("port") for p in ports}:
                    error(oid, f"backend port {port['number']} is not a port of Service {svc_ref.get('name')}")
        elif kind == "HorizontalPodAutoscaler":
            ref = spec.get("scaleTargetRef") or {}
            if ref.get("name") not in by_kind_name[ref.get("kind")]:
                error(oid, f"scaleTargetRef {ref.get('kind')}/{ref.get('name')} does not exist")
            if spec.get("minReplicas", 1) > spec.get("maxReplicas", 0):
                error(oid, "minReplicas > maxReplicas")
        elif kind == "PodDisruptionBudget":
            if not matching_workloads(spec.get("selector")):
                error(oid, "selector matches no pod template")
        elif kind == "NetworkPolicy":
            sel = spec.get("podSelector")
            if sel and not matching_workloads(sel):
                error(oid, "podSelector matches no pod template")
            for rule in (spec.get("ingress") or []) + (spec.get("egress") or []):
                for peer in (rule.get("from") or []) + (rule.get("to") or []):
                    ps = peer.get("podSelector")
                    if ps and "namespaceSelector" not in peer and not matching_workloads(ps):
                        error(oid, f"peer podSelector {ps} matches no pod template")
        elif kind == "ConfigMap" and "redis.conf" in (o.get("data") or {}):
            conf = o["data"]["redis.conf"]
            m = re.search(r"^\s*notify-keyspace-events\s+\"?([A-Za-z$]*)\"?\s*$", conf, re.M)
            if not m or "x" not in m.group(1) or not ({"E", "A"} & set(m.group(1))):
                error(oid, "redis.conf does not enable keyspace `expired` events (notify-keyspace-events Ex)")


# ---------------------------------------------------------------------------------------------
# skaffold.yaml


def image_name(ref: str) -> str:
    ref = ref.split("@", 1)[0]
    head, _, last = ref.rpartition("/")
    last = last.split(":", 1)[0]
    return f"{head}/{last}" if head else last


def check_skaffold(path: str, repo: str, rendered: dict[str, list[dict]], overlay_dirs: dict[str, str]) -> None:
    docs = load_docs(path)
    if not docs:
        error(path, "no document")
        return
    for i, doc in enumerate(docs):
        where = f"{path}[{i}]"
        if not re.fullmatch(r"skaffold/v4beta\d+", str(doc.get("apiVersion"))):
            error(where, f"apiVersion {doc.get('apiVersion')!r} is not skaffold/v4beta*")
        if doc.get("kind") != "Config":
            error(where, "kind is not Config")
        configs = [("default", doc)] + [(p.get("name"), p) for p in doc.get("profiles") or []]
        artifacts = [a.get("image") for a in ((doc.get("build") or {}).get("artifacts") or [])]
        for a in (doc.get("build") or {}).get("artifacts") or []:
            dockerfile = os.path.join(repo, a.get("context", "."), (a.get("docker") or {}).get("dockerfile", "Dockerfile"))
            if not os.path.isfile(dockerfile):
                error(where, f"artifact {a.get('image')}: {dockerfile} does not exist")
        for cname, cfg in configs:
            paths = ((cfg.get("manifests") or {}).get("kustomize") or {}).get("paths") or []
            for p in paths:
                full = os.path.normpath(os.path.join(repo, p))
                if not os.path.isfile(os.path.join(full, "kustomization.yaml")):
                    error(where, f"{cname}: kustomize path {p} has no kustomization.yaml")
                overlay = next((n for n, d in overlay_dirs.items() if os.path.normpath(d) == full), None)
                if overlay is None:
                    continue
                objs = rendered.get(overlay, [])
                images = {image_name(c.get("image", "")) for _, _, pod in pod_templates(objs) for c in containers_of(pod)}
                for art in artifacts:
                    if cname == "default" and art not in images:
                        error(where, f"artifact image {art!r} is used by no container of overlay {overlay} ({sorted(images)})")
                for pf in (cfg["portForward"] if "portForward" in cfg else doc.get("portForward")) or []:
                    kind = {"service": "Service", "deployment": "Deployment", "pod": "Pod"}.get(str(pf.get("resourceType")).lower())
                    match = [o for o in objs if o.get("kind") == kind
                             and (o.get("metadata") or {}).get("name") == pf.get("resourceName")
                             and (not pf.get("namespace") or (o.get("metadata") or {}).get("namespace") == pf.get("namespace"))]
                    if not match:
                        error(where, f"{cname}: portForward {pf.get('resourceType')}/{pf.get('resourceName')} in {pf.get('namespace')} is not in overlay {overlay}")
                    elif kind == "Service" and pf.get("port") not in {p.get("port") for p in match[0]["spec"].get("ports") or []}:
                        error(where, f"{cname}: portForward port {pf.get('port')} is not a port of Service {pf.get('resourceName')}")


# ---------------------------------------------------------------------------------------------
# Dockerfile: what it copies from the build context must exist and not be in .dockerignore.


def check_dockerfile(path: str, repo: str) -> int:
    ignore_file = os.path.join(repo, ".dockerignore")
    patterns = []
    if os.path.isfile(ignore_file):
        with open(ignore_file) as f:
            patterns = [l.strip().rstrip("/") for l in f if l.strip() and not l.startswith("#")]

    def ignored(rel: str) -> bool:
        parts = rel.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        for pat in patterns:
            pat = pat.lstrip("/")
            for pre in prefixes:
                if fnmatch.fnmatch(pre, pat) or (pat.startswith("**/") and fnmatch.fnmatch(pre.split("/")[-1], pat[3:])):
                    return True
        return False

    with open(path) as f:
        text = re.sub(r"\\\n", " ", f.read())
    count = 0
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].upper() not in ("COPY", "ADD"):
            continue
        flags = [w for w in words[1:] if w.startswith("--")]
        if any(w.startswith("--from=") for w in flags):
            continue
        sources = [w for w in words[1:] if not w.startswith("--")][:-1]
        for src in sources:
            rel = os.path.normpath(src).lstrip("./") or "."
            count += 1
            if not glob.glob(os.path.join(repo, rel)):
                error(path, f"COPY source {src} does not exist")
            elif rel != "." and ignored(rel):
                error(path, f"COPY source {src} is excluded by .dockerignore")
    return count


# ---------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kubernetes-version", required=True)
    ap.add_argument("--overlay", action="append", default=[],
                    help="NAME=DIR:RENDERED.yaml[,TEMPLATE.yaml...]")
    ap.add_argument("--skaffold")
    ap.add_argument("--dockerfile")
    ap.add_argument("--repo", default=".")
    args = ap.parse_args()

    directory = schema_dir(args.kubernetes_version)
    rendered: dict[str, list[dict]] = {}
    overlay_dirs: dict[str, str] = {}
    total = 0
    for spec in args.overlay:
        name, _, rest = spec.partition("=")
        overlay_dir, _, files = rest.partition(":")
        rendered_file, *template_files = files.split(",")
        overlay_dirs[name] = os.path.join(args.repo, overlay_dir)
        objs = load_docs(rendered_file)
        for o in objs:
            validate_schema(directory, o, f"[{name}] {ident(o)}")
        templates = []
        for f in filter(None, template_files):
            for t in load_docs(f):
                validate_schema(directory, t, f"[{name}] template {os.path.relpath(f, args.repo)} {ident(t)}")
                templates.append(t)
        check_overlay(name, objs, templates)
        rendered[name] = objs
        total += len(objs) + len(templates)
        counts = collections.Counter(o.get("kind") for o in objs)
        summary = ", ".join(f"{k} {n}" for k, n in sorted(counts.items()))
        print(f"  {name}: {len(objs)} objects ({summary})"
              + (f" + {len(templates)} template(s) not rendered: "
                 + ", ".join(ident(t) for t in templates) if templates else ""))

    if args.skaffold:
        check_skaffold(args.skaffold, args.repo, rendered, overlay_dirs)
        print(f"  {os.path.relpath(args.skaffold, args.repo)}: parsed, image/paths/portForward checked")

    if args.dockerfile:
        n = check_dockerfile(args.dockerfile, args.repo)
        print(f"  {os.path.relpath(args.dockerfile, args.repo)}: {n} COPY sources exist and are not in .dockerignore")

    if errors:
        print(f"\nFAILED: {len(errors)} problem(s):")
        for e in errors:
            print(f"  - {e}")
        return 1
    print(f"OK: {total} objects valid against the Kubernetes {args.kubernetes_version} schemas "
          f"({directory}), references and rules checked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
