/**
 * IAM policy documents of a synthesized component: every `data.aws_iam_policy_document`
 * (its `statement` blocks and the `content` of its `dynamic.statement` blocks), where each one
 * is used, and rendering to the IAM JSON that Terraform would produce for concrete values.
 */
import type { TerraformJson } from './synth';
import type { TerraformEvaluator, Value } from './terraform-expr';

/** One statement block as synthesized (Terraform JSON attribute names). */
export interface StatementBlock {
  readonly sid?: string;
  readonly effect?: string;
  readonly actions?: string[];
  readonly not_actions?: string[];
  readonly resources?: string[];
  readonly not_resources?: string[];
  readonly principals?: { type: string; identifiers: string[] }[];
  readonly not_principals?: { type: string; identifiers: string[] }[];
  readonly condition?: { test: string; variable: string; values: string[] }[];
}

export interface DocumentStatement {
  /** `statement[0]` or `dynamic.statement[2]` */
  readonly where: string;
  /** The dynamic block's for_each expression (dynamic statements only). */
  readonly forEach?: string;
  readonly block: StatementBlock;
}

/** How a policy document is used: `<resource address>.<attribute>`, e.g. aws_kms_key.key.policy. */
export interface PolicyUse {
  readonly resourceType: string;
  readonly address: string;
  readonly attribute: string;
}

export interface PolicyDocumentInfo {
  /** data.aws_iam_policy_document.<name> */
  readonly address: string;
  readonly name: string;
  readonly statements: DocumentStatement[];
  readonly uses: PolicyUse[];
}

/** A policy attribute whose value is not `${data.aws_iam_policy_document.<name>.json}`. */
export interface InlinePolicy {
  readonly use: PolicyUse;
  readonly value: unknown;
}

const DOC_REF = /^\$\{data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)\.json\}$/;
/**
 * Attribute names that carry an IAM or resource policy document (aws_iam_role_policy.policy,
 * aws_iam_role.assume_role_policy, aws_opensearch_domain.access_policies, nested *.policy...).
 * Not e.g. tls_security_policy, which names a TLS policy.
 */
const POLICY_ATTRIBUTE = /^(policy|assume_role_policy|access_policies)$/;

function asList<T>(v: T | T[] | undefined): T[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** Every policy-carrying attribute of every resource, found by name, at any nesting depth. */
function policyAttributes(tf: TerraformJson): { use: PolicyUse; value: unknown }[] {
  const out: { use: PolicyUse; value: unknown }[] = [];
  const walk = (resourceType: string, address: string, prefix: string, obj: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(obj)) {
      if (k === '//') continue;
      if (POLICY_ATTRIBUTE.test(k) && typeof v === 'string') {
        out.push({ use: { resourceType, address, attribute: `${prefix}${k}` }, value: v });
      } else if (v !== null && typeof v === 'object') {
        for (const [i, item] of asList(v as Record<string, unknown>).entries()) {
          if (item !== null && typeof item === 'object') {
            walk(
              resourceType,
              address,
              `${prefix}${k}${Array.isArray(v) ? `[${i}]` : ''}.`,
              item as Record<string, unknown>,
            );
          }
        }
      }
    }
  };
  for (const [type, byName] of Object.entries(tf.resource ?? {})) {
    for (const [name, body] of Object.entries(byName)) walk(type, `${type}.${name}`, '', body);
  }
  return out;
}

/** The statements of one policy document body: static blocks first, then the dynamic ones. */
function documentStatements(name: string, body: unknown): DocumentStatement[] {
  const b = body as {
    statement?: StatementBlock[];
    dynamic?: { statement?: { for_each: string; content: StatementBlock }[] };
  };
  if (b === undefined) throw new Error(`no data.aws_iam_policy_document.${name}`);
  return [
    ...asList(b.statement).map((block, i) => ({ where: `statement[${i}]`, block })),
    ...asList(b.dynamic?.statement).map((d, i) => ({
      where: `dynamic.statement[${i}]`,
      forEach: d.for_each,
      block: d.content,
    })),
  ];
}

/** All policy documents of a component, with their uses, and any policy not built from one. */
export function policyDocuments(tf: TerraformJson): { documents: PolicyDocumentInfo[]; inline: InlinePolicy[] } {
  const attrs = policyAttributes(tf);
  const documents = Object.entries(tf.data?.aws_iam_policy_document ?? {}).map(([name, body]): PolicyDocumentInfo => {
    const uses = attrs.filter((a) => DOC_REF.exec(String(a.value))?.[1] === name).map((a) => a.use);
    return { address: `data.aws_iam_policy_document.${name}`, name, statements: documentStatements(name, body), uses };
  });
  const inline = attrs.filter((a) => !DOC_REF.test(String(a.value)));
  return { documents, inline };
}

/**
 * One policy document of a component, for tests that look at its statements by sid (throws when
 * the component has no such document).
 */
export function policyDocument(tf: TerraformJson, name: string): PolicyStatements {
  return new PolicyStatements(name, documentStatements(name, tf.data?.aws_iam_policy_document?.[name]));
}

/** The statements of one `data.aws_iam_policy_document`, found by sid. */
export class PolicyStatements {
  constructor(
    readonly name: string,
    readonly statements: readonly DocumentStatement[],
  ) {}

  /** A static `statement` block (not a dynamic one) with this sid. */
  fixed(sid: string): StatementBlock | undefined {
    return this.statements.find((s) => s.forEach === undefined && s.block.sid === sid)?.block;
  }

  /** A `dynamic.statement` with this sid in its content: its for_each and its block. */
  dynamic(sid: string): DocumentStatement | undefined {
    return this.statements.find((s) => s.forEach !== undefined && s.block.sid === sid);
  }

  /** The block with this sid, static or dynamic (the static one when both exist). */
  bySid(sid: string): StatementBlock | undefined {
    return this.fixed(sid) ?? this.dynamic(sid)?.block;
  }

  /** Every block, static then dynamic. */
  blocks(): StatementBlock[] {
    return this.statements.map((s) => s.block);
  }

  /** The static (non-dynamic) blocks only, in order. */
  fixedBlocks(): StatementBlock[] {
    return this.statements.filter((s) => s.forEach === undefined).map((s) => s.block);
  }
}

/** An IAM policy statement as JSON. */
export interface IamStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string[];
  NotAction?: string[];
  Resource?: string[];
  NotResource?: string[];
  Principal?: Record<string, string[]>;
  Condition?: Record<string, Record<string, string[]>>;
}

export interface IamPolicy {
  Version: '2012-10-17';
  Statement: IamStatement[];
}

function strings(v: Value, what: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw new Error(`${what} did not evaluate to a list of strings`);
  return v as string[];
}

/**
 * Renders a policy document for concrete values, as `data.aws_iam_policy_document.<n>.json`
 * would: static statements, then every dynamic statement whose for_each is non-empty (once per
 * element; our documents use `[1]` / `[]`).
 */
export function renderPolicy(doc: PolicyDocumentInfo, ev: TerraformEvaluator): IamPolicy {
  const out: IamStatement[] = [];
  for (const s of doc.statements) {
    const times =
      s.forEach === undefined
        ? 1
        : (() => {
            const each = ev.value(s.forEach);
            if (!Array.isArray(each)) throw new Error(`${doc.address} ${s.where}: for_each is not a list`);
            return each.length;
          })();
    for (let n = 0; n < times; n++) {
      const b = s.block;
      const st: IamStatement = { Effect: (b.effect ?? 'Allow') as 'Allow' | 'Deny' };
      if (b.sid !== undefined) st.Sid = String(ev.value(b.sid));
      if (b.actions) st.Action = strings(ev.value(b.actions), `${doc.address} ${s.where} actions`);
      if (b.not_actions) st.NotAction = strings(ev.value(b.not_actions), `${doc.address} ${s.where} not_actions`);
      if (b.resources) st.Resource = strings(ev.value(b.resources), `${doc.address} ${s.where} resources`);
      if (b.not_resources)
        st.NotResource = strings(ev.value(b.not_resources), `${doc.address} ${s.where} not_resources`);
      if (b.principals) {
        st.Principal = {};
        for (const p of b.principals) st.Principal[p.type] = strings(ev.value(p.identifiers), 'principal identifiers');
      }
      if (b.condition) {
        st.Condition = {};
        for (const c of b.condition) {
          st.Condition[c.test] ??= {};
          st.Condition[c.test][c.variable] = strings(ev.value(c.values), 'condition values');
        }
      }
      out.push(st);
    }
  }
  return { Version: '2012-10-17', Statement: out };
}
