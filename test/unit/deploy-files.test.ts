/**
 * The deployment files agree with each other and with the code: Kubernetes objects (kustomization
 * resources exist, KEDA scales the worker Deployment on an exported metric, probes hit /readyz (with
 * the metrics token when set) and /healthz on the metrics port; the API's readiness is its /readyz, in
 * Kubernetes and compose), Grafana provisioning (the datasource uids the dashboards use, the
 * dashboards path compose mounts), and compose's Prometheus mount. No engine or cluster runs here, so
 * this is what can be checked of them besides `docker-compose config` and promtool.
 */
import { readFileSync, existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { DASHBOARDS, POSTGRES_UID, PROMETHEUS_UID } from '../../src/metrics/dashboards.ts';
import { METRIC } from '../../src/metrics/metrics.ts';

const root = new URL('../../', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, root), 'utf8');
const docs = (p: string) => parseAllDocuments(read(p)).map((d) => d.toJS());

describe('deployment files', () => {
  it('kubernetes: every kustomization resource exists and is a named object; KEDA scales the worker on an exported metric', () => {
    const k = parse(read('deploy/kubernetes/kustomization.yaml'));
    const objects: any[] = [];
    for (const r of k.resources as string[]) {
      expect(existsSync(new URL(`deploy/kubernetes/${r}`, root)), r).toBe(true);
      for (const o of docs(`deploy/kubernetes/${r}`)) {
        expect(o, r).toMatchObject({ apiVersion: expect.any(String), kind: expect.any(String), metadata: { name: expect.any(String) } });
        objects.push(o);
      }
    }
    const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'game-persist-worker');
    const container = deployment.spec.template.spec.containers[0];
    expect(container.args).toEqual(['worker']);
    expect(container.ports).toContainEqual({ name: 'metrics', containerPort: 9464 });
    // An exec probe (it reads GP_METRICS_TOKEN from the container's environment), on /readyz.
    expect(container.readinessProbe.exec.command.slice(0, 2)).toEqual(['node', '-e']);
    expect(container.readinessProbe.exec.command[2]).toMatch(/\/readyz`.*GP_METRICS_TOKEN|GP_METRICS_TOKEN.*\/readyz`/);
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(deployment.spec.selector.matchLabels).toEqual(deployment.spec.template.metadata.labels);
    const scaled = objects.find((o) => o.kind === 'ScaledObject');
    expect(scaled.spec.scaleTargetRef.name).toBe(deployment.metadata.name);
    expect(scaled.spec.triggers[0].metadata.query).toContain(METRIC.queueJobs);
    const config = objects.find((o) => o.kind === 'ConfigMap');
    expect(config.data.GP_METRICS_PORT).toBe('9464');
  });

  it('grafana: provisioned datasource uids are the dashboards\', and compose mounts what the provider reads', () => {
    const ds = parse(read('grafana/provisioning/datasources/datasources.yml'));
    expect(ds.datasources.map((d: { uid: string }) => d.uid).sort()).toEqual([POSTGRES_UID, PROMETHEUS_UID].sort());
    const used = new Set<string>();
    for (const d of DASHBOARDS) {
      const json = JSON.parse(read(`grafana/dashboards/${d.uid}.json`));
      for (const p of json.panels) used.add(p.datasource.uid);
    }
    expect([...used].sort()).toEqual([POSTGRES_UID, PROMETHEUS_UID].sort());
    const provider = parse(read('grafana/provisioning/dashboards/dashboards.yml')).providers[0];
    const compose = parse(read('docker-compose.yml'));
    expect(compose.services.grafana.volumes).toContain(`./grafana/dashboards:${provider.options.path}:ro`);
    expect(compose.services.grafana.volumes).toContain('./grafana/provisioning:/etc/grafana/provisioning:ro');
    expect(compose.services.prometheus.volumes).toContain('./prometheus:/etc/prometheus:ro');
    expect(compose.services.prometheus.profiles).toEqual(['monitoring']);
    const scrape = parse(read('prometheus/prometheus.yml')).scrape_configs[0];
    expect(scrape.dns_sd_configs[0]).toMatchObject({ names: ['worker'], port: 9464 });
  });

  it('compose: each service connects as its own role with only its own password; the game-persist containers are hardened', () => {
    const compose = parse(read('docker-compose.yml'), { merge: true });
    const env = (svc: string): Record<string, string> => compose.services[svc].environment ?? {};
    const user = (url: string) => /^postgres:\/\/([^:@]+)/.exec(url)?.[1];
    // Uninterpolated: which password variable a URL carries.
    const passwordVar = (url: string) => /:\$\{(\w+)/.exec(url.replace(/^postgres:\/\/[^:]+/, ''))?.[1];
    expect(compose.services.roles.command).toEqual(['migrate', '--create-roles', '--apply']);
    expect(user(env('roles').DATABASE_URL!)).toBe('postgres');
    expect(Object.keys(env('roles'))).toEqual(expect.arrayContaining(['GP_OWNER_PASSWORD', 'GP_WORKER_PASSWORD', 'GP_READER_PASSWORD', 'GP_API_PASSWORD', 'GP_GRAFANA_PASSWORD']));
    expect(compose.services.migrate.depends_on.roles).toEqual({ condition: 'service_completed_successfully' });
    expect([user(env('migrate').DATABASE_URL!), passwordVar(env('migrate').DATABASE_URL!)]).toEqual(['gp_owner', 'GP_OWNER_PASSWORD']);
    for (const svc of ['worker', 'demo']) expect([svc, user(env(svc).DATABASE_URL!), passwordVar(env(svc).DATABASE_URL!)]).toEqual([svc, 'gp_worker', 'GP_WORKER_PASSWORD']);
    expect([user(env('api').DATABASE_URL!), passwordVar(env('api').DATABASE_URL!)]).toEqual(['gp_api', 'GP_API_PASSWORD']);
    expect([user(env('api').DATABASE_READ_URL!), passwordVar(env('api').DATABASE_READ_URL!)]).toEqual(['gp_reader', 'GP_READER_PASSWORD']);
    expect(env('grafana').GP_GRAFANA_DB_USER).toBe('gp_grafana');
    expect(env('grafana').GP_GRAFANA_DB_PASSWORD).toMatch(/^\$\{GP_GRAFANA_PASSWORD[:}]/);
    // The worker's metrics and health endpoints default to loopback; Prometheus scrapes it over the network.
    expect(env('worker').GP_METRICS_HOST).toBe('0.0.0.0');
    // The erasure key reaches the workers only (they run the API's erasures).
    for (const [name, svc] of Object.entries<any>(compose.services)) expect([name, 'GP_ERASURE_KEY' in (svc.environment ?? {})]).toEqual([name, name === 'worker']);
    // Only `roles` sees the superuser's or another role's password.
    for (const [name, svc] of Object.entries<any>(compose.services)) {
      if (name === 'roles' || name === 'postgres') continue;
      const text = JSON.stringify(svc.environment ?? {});
      expect([name, /POSTGRES_PASSWORD|GP_OWNER_PASSWORD/.test(text) && name !== 'migrate'].join()).toBe(`${name},false`);
      expect([name, new Set(text.match(/GP_(OWNER|WORKER|READER|API|GRAFANA)_PASSWORD/g) ?? []).size <= (name === 'api' ? 2 : 1)].join()).toBe(`${name},true`);
    }
    for (const [name, svc] of Object.entries<any>(compose.services)) {
      expect([name, svc.privileged ?? false]).toEqual([name, false]);
      // Docker's default seccomp profile applies unless a service turns it off.
      expect([name, (svc.security_opt ?? []).filter((o: string) => /seccomp[=:]unconfined|apparmor[=:]unconfined/.test(o))]).toEqual([name, []]);
      expect([name, svc.security_opt ?? []]).toEqual([name, expect.arrayContaining(['no-new-privileges:true'])]);
      if (svc.image !== compose.services.worker.image) continue;
      expect([name, svc.read_only, svc.cap_drop, svc.tmpfs]).toEqual([name, true, ['ALL'], ['/tmp']]);
    }
  });

  it('kubernetes: every pod is hardened; each connects as its role with its own Secret; NetworkPolicies and a PodDisruptionBudget', () => {
    const objectsOf = (dir: string) =>
      (parse(read(`${dir}/kustomization.yaml`)).resources as string[]).flatMap((r) => docs(`${dir}/${r}`));
    const objects = [...objectsOf('deploy/kubernetes'), ...objectsOf('deploy/kubernetes/roles')];
    const config = objects.find((o) => o.kind === 'ConfigMap').data as Record<string, string>;
    const pods = objects.filter((o) => o.kind === 'Deployment' || o.kind === 'Job');
    expect(pods.map((o) => o.metadata.name).sort()).toEqual(['game-persist-api', 'game-persist-migrate', 'game-persist-roles', 'game-persist-worker']);
    /** A container's env: name → value, or `secret:<name>/<key>`; $(VAR) references resolved against envFrom's ConfigMap and earlier entries. */
    const envOf = (c: any): Record<string, string> => {
      const out: Record<string, string> = {};
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        out[e.name] = ref ? `secret:${ref.name}/${ref.key}` : String(e.value).replace(/\$\((\w+)\)/g, (_: string, v: string) => {
          const known = out[v] ?? config[v];
          expect(known, `${c.name}: $(${v}) is defined before use`).toBeDefined();
          return `{${v}}`;
        });
      }
      return out;
    };
    const containers: Record<string, { env: Record<string, string>; c: any }> = {};
    for (const o of pods) {
      const spec = o.spec.template.spec;
      expect([o.metadata.name, spec.securityContext]).toEqual([o.metadata.name, expect.objectContaining({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } })]);
      expect([o.metadata.name, spec.automountServiceAccountToken]).toEqual([o.metadata.name, false]);
      expect(o.spec.template.metadata.labels['app.kubernetes.io/name']).toBe('game-persist');
      for (const c of spec.containers) {
        expect([c.name, c.securityContext]).toEqual([
          c.name,
          { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } },
        ]);
        expect(c.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
        containers[o.metadata.name] = { env: envOf(c), c };
      }
    }
    const url = (role: string, pw: string) => `postgres://{${role}}:{${pw}}@{DB_ADDRESS}/{DB_NAME}`;
    const m = containers['game-persist-migrate']!.env;
    expect([m.DATABASE_URL, m.DB_PASSWORD]).toEqual([url('GP_OWNER_ROLE', 'DB_PASSWORD'), 'secret:game-persist-db-owner/password']);
    const w = containers['game-persist-worker']!.env;
    expect([w.DATABASE_URL, w.DB_PASSWORD]).toEqual([url('GP_WORKER_ROLE', 'DB_PASSWORD'), 'secret:game-persist-db-worker/password']);
    expect(w.GP_METRICS_HOST).toBe('0.0.0.0');
    expect(w.GP_ERASURE_KEY).toBe('secret:game-persist-erasure/key');
    const a = containers['game-persist-api']!.env;
    expect([a.DATABASE_URL, a.DB_PASSWORD]).toEqual([url('GP_API_ROLE', 'DB_PASSWORD'), 'secret:game-persist-db-api/password']);
    expect(a.GP_ERASURE_KEY).toBeUndefined();
    expect([a.DATABASE_READ_URL, a.DB_READ_PASSWORD]).toEqual([url('GP_READER_ROLE', 'DB_READ_PASSWORD'), 'secret:game-persist-db-reader/password']);
    const r = containers['game-persist-roles']!;
    expect(r.c.args).toEqual(['migrate', '--create-roles', '--apply']);
    expect(r.env).toEqual({
      DATABASE_URL: 'secret:game-persist-db-admin/DATABASE_URL',
      GP_OWNER_PASSWORD: 'secret:game-persist-db-owner/password',
      GP_WORKER_PASSWORD: 'secret:game-persist-db-worker/password',
      GP_READER_PASSWORD: 'secret:game-persist-db-reader/password',
      GP_API_PASSWORD: 'secret:game-persist-db-api/password',
      GP_GRAFANA_PASSWORD: 'secret:game-persist-db-grafana/password',
    });
    // The superuser's Secret reaches the roles Job only, and no pod takes a whole Secret holding a database password.
    for (const [name, { env, c }] of Object.entries(containers)) {
      if (name !== 'game-persist-roles') expect([name, Object.values(env).filter((v) => v.includes('game-persist-db-admin'))]).toEqual([name, []]);
      for (const f of c.envFrom ?? []) if (f.secretRef) expect(f.secretRef.name).toBe('game-persist');
    }
    expect([config.GP_OWNER_ROLE, config.GP_WORKER_ROLE, config.GP_READER_ROLE, config.GP_API_ROLE, config.GP_GRAFANA_ROLE]).toEqual(['gp_owner', 'gp_worker', 'gp_reader', 'gp_api', 'gp_grafana']);

    const worker = pods.find((o) => o.metadata.name === 'game-persist-worker');
    const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget');
    expect(pdb.spec.selector.matchLabels).toEqual(worker.spec.selector.matchLabels);
    expect(pdb.spec.maxUnavailable).toBe(1);

    const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
    const egress = policies.filter((p) => p.spec.policyTypes.includes('Egress'));
    expect(egress).toHaveLength(1);
    expect(egress[0].spec.podSelector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'game-persist' });
    const ports = egress[0].spec.egress.flatMap((e: any) => e.ports.map((p: any) => `${p.protocol}/${p.port}`)).sort();
    expect(ports).toEqual(['TCP/53', 'TCP/5432', 'TCP/6379', 'UDP/53']);
    const ingressFor = (component: string | null) =>
      policies
        .filter((p) => p.spec.policyTypes.includes('Ingress') && (p.spec.podSelector.matchLabels['app.kubernetes.io/component'] ?? null) === component)
        .flatMap((p) => (p.spec.ingress ?? []).flatMap((i: any) => i.ports.map((x: any) => x.port)));
    expect(ingressFor(null)).toEqual([]); // deny by default
    expect(ingressFor('worker')).toEqual([worker.spec.template.spec.containers[0].ports.find((p: any) => p.name === 'metrics').containerPort]);
    const api = pods.find((o) => o.metadata.name === 'game-persist-api');
    expect(ingressFor('api')).toEqual([api.spec.template.spec.containers[0].ports.find((p: any) => p.name === 'http').containerPort]);
    expect(containers['game-persist-api']!.env.GP_API_PORT).toBe('8080');
    // The API is ready once it can ingest (its own /readyz); /healthz only says the process answers.
    expect(containers['game-persist-api']!.c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(containers['game-persist-api']!.c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    const compose = parse(read('docker-compose.yml'), { merge: true });
    expect(compose.services.api.healthcheck.test.join(' ')).toContain(`127.0.0.1:${compose.services.api.environment.GP_API_PORT}/readyz`);
  });
});
