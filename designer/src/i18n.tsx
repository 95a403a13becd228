/**
 * The viewer's words in English and Chinese. The language starts from the browser's (any zh-* is
 * Chinese), can be switched in the header, and is remembered in localStorage. `{name}` in a text is
 * filled from the variables given to t().
 */
import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import type { Localized } from './types';

export type Lang = 'en' | 'zh';
export const LANGS: { lang: Lang; name: string }[] = [
  { lang: 'en', name: 'English' },
  { lang: 'zh', name: '中文' },
];

const en = {
  'app.name': 'TraceReport',
  'app.loading': 'Loading…',
  'app.notFound': 'There is no page at this address.',
  'app.backHome': 'Back to the reports',
  'nav.home': 'Reports',
  'nav.audit': 'Audit trail',
  'nav.collectors': 'Collectors',
  'nav.language': 'Language',
  'nav.logout': 'Log out',
  'nav.user': 'Signed in as {user}',
  'role.admin': 'admin',
  'role.designer': 'designer',
  'role.viewer': 'viewer',
  'role.operator': 'operator',
  'role.auditor': 'auditor',
  'login.title': 'Log in',
  'login.username': 'User name',
  'login.password': 'Password',
  'login.submit': 'Log in',
  'login.busy': 'Logging in…',
  'login.wrong': 'The user name or password is wrong, or the account is disabled.',
  'login.limited': 'Too many failed logins. Try again in {minutes} minutes or ask an administrator.',
  'login.missing': 'Enter your user name and password.',
  'login.expired': 'Your session ended. Log in again to continue.',
  'home.title': 'Reports',
  'home.empty': 'There are no reports you may view. Ask an administrator for access to a folder.',
  'home.folderEmpty': 'No reports in this folder.',
  'home.viewOnlyNote': 'Your role may list reports but not run them.',
  'report.parameters': 'Parameters',
  'report.required': 'required',
  'report.query': 'Query',
  'report.running': 'Running…',
  'report.choose': '— choose —',
  'report.from': 'from',
  'report.to': 'to',
  'report.listHint': 'several values: separate with commas',
  'report.noParameters': 'This report has no parameters.',
  'report.pageOf': 'Page {page} of {pages}',
  'report.pageOfAtLeast': 'Page {page} of at least {pages}',
  'report.first': 'First page',
  'report.prev': 'Previous page',
  'report.next': 'Next page',
  'report.last': 'Last page',
  'report.export': 'Export',
  'report.exportPdf': 'PDF',
  'report.exportXlsx': 'Excel',
  'report.exportCsv': 'CSV',
  'report.exporting': 'Preparing {format}…',
  'report.warnings': 'Warnings',
  'report.notRun': 'Choose the parameters and press Query.',
  'report.ignored': 'The link named parameters this report does not take; they were left out: {names}.',
  'report.failed': 'The report could not be shown: {message}',
  'report.trail': 'Drill-down trail',
  'field.missing': 'Required: enter a value.',
  'field.invalid': '{message}',
  'audit.title': 'Audit trail',
  'audit.user': 'User',
  'audit.action': 'Action',
  'audit.from': 'From',
  'audit.to': 'To (inclusive)',
  'audit.apply': 'Filter',
  'audit.clear': 'Clear',
  'audit.seq': '#',
  'audit.at': 'Time',
  'audit.address': 'Address',
  'audit.object': 'Object',
  'audit.params': 'Parameters',
  'audit.changes': 'Before / after',
  'audit.before': 'Before',
  'audit.after': 'After',
  'audit.none': 'No audit rows match.',
  'audit.newer': 'Newer',
  'audit.older': 'Older',
  'audit.newest': 'Newest',
  'audit.verify': 'Verify chain',
  'audit.verifying': 'Verifying…',
  'audit.verifyOk': 'Chain OK: {rows} rows, none changed, removed or inserted.',
  'audit.verifyBad': 'The chain is broken: {count} problem(s).',
  'audit.exportCsv': 'Export CSV',
  'audit.rowsShown': 'Rows {first}–{last}',
  'collectors.title': 'Collectors',
  'collectors.intro': 'The tracereport collect processes writing into this trace store, from their heartbeats (every 5 s). Refreshed every 5 s.',
  'collectors.none': 'No collector has written its status into this trace store yet. Start one with tracereport collect.',
  'collectors.up': 'up',
  'collectors.down': 'down',
  'collectors.updated': 'last update {ago}',
  'collectors.agoSeconds': '{n} s ago',
  'collectors.agoMinutes': '{n} min ago',
  'collectors.agoHours': '{n} h ago',
  'collectors.agoDays': '{n} days ago',
  'collectors.host': 'host {host}, process {pid}, started {started}',
  'collectors.state': 'State',
  'collectors.lastReported': '{state} (last reported)',
  'collectors.readingsIn': 'Readings in',
  'collectors.written': 'Stored',
  'collectors.journal': 'Journal (not yet stored)',
  'collectors.store': 'Trace store',
  'collectors.openAlarms': 'Open alarms',
  'collectors.lastError': 'Last error',
  'collectors.driver': 'Driver',
  'collectors.type': 'Type',
  'collectors.readings': 'Readings',
  'collectors.reconnects': 'Reconnects',
  'collectors.noDrivers': 'No driver status in the heartbeat.',
  'collectors.refreshFailed': 'Could not refresh: {message}. Showing the last answer.',
  'collectors.remove': 'Remove',
  'collectors.clockBehind': 'its clock is {n} s behind the server’s (allowed for)',
  'collectors.clockAhead': 'its clock is {n} s ahead of the server’s (allowed for)',
  'collectors.removeConfirm': 'Remove collector "{id}" from the list? Do this for a collector that is gone for good; if it starts again it appears again.',
  'state.running': 'running',
  'state.full': 'journal full',
  'state.stopping': 'stopping',
  'state.stopped': 'stopped',
  'state.starting': 'starting',
  'state.connected': 'connected',
  'state.reconnecting': 'reconnecting',
  'state.error': 'error',
  'state.storeUp': 'up',
  'state.storeDown': 'down',
  'state.unknown': 'unknown',
} as const;

export type Key = keyof typeof en;

const zh: Record<Key, string> = {
  'app.name': 'TraceReport 追溯报表',
  'app.loading': '加载中…',
  'app.notFound': '此地址没有页面。',
  'app.backHome': '返回报表列表',
  'nav.home': '报表',
  'nav.audit': '审计追踪',
  'nav.collectors': '采集器',
  'nav.language': '语言',
  'nav.logout': '退出登录',
  'nav.user': '当前用户 {user}',
  'role.admin': '管理员',
  'role.designer': '设计者',
  'role.viewer': '查看者',
  'role.operator': '操作员',
  'role.auditor': '审计员',
  'login.title': '登录',
  'login.username': '用户名',
  'login.password': '密码',
  'login.submit': '登录',
  'login.busy': '正在登录…',
  'login.wrong': '用户名或密码错误，或账户已停用。',
  'login.limited': '登录失败次数过多。请 {minutes} 分钟后再试，或联系管理员。',
  'login.missing': '请输入用户名和密码。',
  'login.expired': '会话已结束，请重新登录。',
  'home.title': '报表',
  'home.empty': '没有您可以查看的报表。请联系管理员开通文件夹权限。',
  'home.folderEmpty': '此文件夹中没有报表。',
  'home.viewOnlyNote': '您的角色可以列出报表，但不能运行报表。',
  'report.parameters': '查询参数',
  'report.required': '必填',
  'report.query': '查询',
  'report.running': '查询中…',
  'report.choose': '— 请选择 —',
  'report.from': '从',
  'report.to': '到',
  'report.listHint': '多个值用逗号分隔',
  'report.noParameters': '此报表没有参数。',
  'report.pageOf': '第 {page} 页，共 {pages} 页',
  'report.pageOfAtLeast': '第 {page} 页，至少 {pages} 页',
  'report.first': '首页',
  'report.prev': '上一页',
  'report.next': '下一页',
  'report.last': '末页',
  'report.export': '导出',
  'report.exportPdf': 'PDF',
  'report.exportXlsx': 'Excel',
  'report.exportCsv': 'CSV',
  'report.exporting': '正在生成 {format}…',
  'report.warnings': '警告',
  'report.notRun': '请选择参数后点击“查询”。',
  'report.ignored': '链接中包含此报表不接受的参数，已忽略：{names}。',
  'report.failed': '无法显示报表：{message}',
  'report.trail': '钻取路径',
  'field.missing': '必填项，请输入。',
  'field.invalid': '值无效：{message}',
  'audit.title': '审计追踪',
  'audit.user': '用户',
  'audit.action': '操作',
  'audit.from': '开始日期',
  'audit.to': '结束日期（含）',
  'audit.apply': '筛选',
  'audit.clear': '清除',
  'audit.seq': '序号',
  'audit.at': '时间',
  'audit.address': '地址',
  'audit.object': '对象',
  'audit.params': '参数',
  'audit.changes': '变更前 / 后',
  'audit.before': '变更前',
  'audit.after': '变更后',
  'audit.none': '没有符合条件的审计记录。',
  'audit.newer': '较新',
  'audit.older': '较早',
  'audit.newest': '最新',
  'audit.verify': '校验哈希链',
  'audit.verifying': '校验中…',
  'audit.verifyOk': '哈希链完好：共 {rows} 条，无修改、删除或插入。',
  'audit.verifyBad': '哈希链已损坏：发现 {count} 个问题。',
  'audit.exportCsv': '导出 CSV',
  'audit.rowsShown': '第 {first}–{last} 条',
  'collectors.title': '数据采集器',
  'collectors.intro': '向此追溯库写入数据的 tracereport collect 进程，依据其心跳（每 5 秒一次）显示。每 5 秒自动刷新。',
  'collectors.none': '尚无采集器向此追溯库写入状态。请用 tracereport collect 启动采集器。',
  'collectors.up': '在线',
  'collectors.down': '离线',
  'collectors.updated': '最后更新：{ago}',
  'collectors.agoSeconds': '{n} 秒前',
  'collectors.agoMinutes': '{n} 分钟前',
  'collectors.agoHours': '{n} 小时前',
  'collectors.agoDays': '{n} 天前',
  'collectors.host': '主机 {host}，进程 {pid}，启动于 {started}',
  'collectors.state': '状态',
  'collectors.lastReported': '{state}（最后一次报告）',
  'collectors.readingsIn': '接收读数',
  'collectors.written': '已入库',
  'collectors.journal': '日志（待入库）',
  'collectors.store': '追溯库',
  'collectors.openAlarms': '未关闭报警',
  'collectors.lastError': '最近错误',
  'collectors.driver': '驱动',
  'collectors.type': '类型',
  'collectors.readings': '读数',
  'collectors.reconnects': '重连次数',
  'collectors.noDrivers': '心跳中没有驱动状态。',
  'collectors.refreshFailed': '刷新失败：{message}。显示的是上一次的结果。',
  'collectors.remove': '移除',
  'collectors.clockBehind': '其时钟比服务器慢 {n} 秒（已校正）',
  'collectors.clockAhead': '其时钟比服务器快 {n} 秒（已校正）',
  'collectors.removeConfirm': '从列表中移除采集器“{id}”？仅用于已永久停用的采集器；它再次启动时会重新出现。',
  'state.running': '运行中',
  'state.full': '日志已满',
  'state.stopping': '正在停止',
  'state.stopped': '已停止',
  'state.starting': '启动中',
  'state.connected': '已连接',
  'state.reconnecting': '重连中',
  'state.error': '错误',
  'state.storeUp': '正常',
  'state.storeDown': '不可用',
  'state.unknown': '未知',
};

const DICTS: Record<Lang, Record<Key, string>> = { en, zh };
const STORAGE_KEY = 'tracereport.lang';

export type Translate = (key: Key, vars?: Record<string, string | number>) => string;

export function translate(lang: Lang, key: Key, vars: Record<string, string | number> = {}): string {
  return DICTS[lang][key].replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}

/** The remembered choice, else the browser's languages (zh-* → Chinese), else English. */
export function initialLang(): Lang {
  try {
    const saved = window.localStorage.getItem(STORAGE_KEY);
    if (saved === 'en' || saved === 'zh') return saved;
  } catch {
    // storage blocked: use the browser's language
  }
  for (const l of navigator.languages ?? [navigator.language]) {
    const low = l.toLowerCase();
    if (low.startsWith('zh')) return 'zh';
    if (low.startsWith('en')) return 'en';
  }
  return 'en';
}

/** A template text in the current language: `{en, zh}` objects pick theirs, plain text is used as is. */
export function localized(text: Localized | null | undefined, lang: Lang, fallback = ''): string {
  if (text === null || text === undefined) return fallback;
  if (typeof text === 'string') return text;
  return text[lang] ?? text.en ?? text.zh ?? fallback;
}

interface I18n {
  lang: Lang;
  setLang(lang: Lang): void;
  t: Translate;
}

const I18nContext = createContext<I18n>({ lang: 'en', setLang: () => undefined, t: (k, v) => translate('en', k, v) });

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(initialLang);
  useEffect(() => {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  }, [lang]);
  const value = useMemo<I18n>(
    () => ({
      lang,
      setLang(l) {
        setLangState(l);
        try {
          window.localStorage.setItem(STORAGE_KEY, l);
        } catch {
          // not remembered: fine for this visit
        }
      },
      t: (key, vars) => translate(lang, key, vars),
    }),
    [lang],
  );
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  return useContext(I18nContext);
}
