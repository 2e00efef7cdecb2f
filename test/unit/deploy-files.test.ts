/**
 * The deployment files agree with each other and with the code: Kubernetes objects (kustomization
 * resources exist, KEDA scales the worker Deployment on an exported metric, probes hit /readyz (with
 * the metrics token when set) and /healthz on the metrics port), Grafana provisioning (the datasource uids the dashboards use, the
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
    const deployment = objects.find((o) => o.kind === 'Deployment');
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
});
