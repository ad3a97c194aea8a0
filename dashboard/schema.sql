-- 创文态势看板: the one schema file.
--
-- Every table the dashboard reads is defined here, column by column. The
-- schema version lives in meta('schema_version'); dashboard/store.py refuses
-- to open a file of another version and names the migration that is needed.
-- Bump SCHEMA_VERSION in dashboard/store.py together with this file and add
-- a migration there.
--
-- Conventions
--   * ids are integers, except problem_id / subject_id which come from the
--     units' own ledgers and are kept as text so re-imports are stable.
--   * dates are DATE; timestamps are TIMESTAMP (local time of the office).
--   * enumerations are stored as short English codes; their Chinese labels
--     live in one place: dashboard/labels.py.
--   * no personal data of residents: visits carry a pseudonymous subject_id.

-- meta: key/value facts about this database file.
--   schema_version  integer as text
--   reference_date  the "today" the demo data was generated for (demo only)
--   generated_at    when the snapshot was built
--   source          'demo' or 'import'
create table meta (
    key   varchar primary key,
    value varchar not null
);

-- units: every organisational unit, one tree.
--   unit_id     stable id
--   name        official Chinese name (e.g. 东城区, 和平街道, 市住建局)
--   kind        province | city | district | street | community | department | group
--               (group = one of the 3 working groups; departments hang under a group)
--   parent_id   the unit above (NULL for the root)
--   sort_order  the official listing order among siblings
--   target_score  the score this unit is asked to reach (NULL = none set)
create table units (
    unit_id      integer primary key,
    name         varchar not null,
    kind         varchar not null check (kind in ('province', 'city', 'district', 'street',
                                                   'community', 'department', 'group')),
    parent_id    integer,
    sort_order   integer not null default 0,
    target_score double
);

-- assessments: one test, mock test or survey wave.
--   level        national | provincial | city | self
--   kind         overall (a full test: field + materials + questionnaire) | field |
--                materials | questionnaire | phone
--   start_date / end_date  the days the test runs (a provincial test lasts days)
--   city_rank / cities_ranked  the city's place among nominated cities, if published
--   target_rank  the place the city aims for (e.g. 25 = 进入全国前二十五)
create table assessments (
    assessment_id integer primary key,
    name          varchar not null,
    level         varchar not null check (level in ('national', 'provincial', 'city', 'self')),
    kind          varchar not null check (kind in ('overall', 'field', 'materials',
                                                   'questionnaire', 'phone')),
    start_date    date not null,
    end_date      date not null,
    city_rank     integer,
    cities_ranked integer,
    target_rank   integer
);

-- indicators: the 测评体系, a tree of categories and items.
--   code         official code (e.g. F-03, Q-07, P-04)
--   category     field | materials | questionnaire | phone
--   parent_id    the indicator above (NULL for a category root)
--   weight       points this indicator carries in a 100-point test
--                (category roots: field 40, materials 40, questionnaire 20; phone 0)
--   target       the value aimed for, in the indicator's own unit (score rate %)
--   lead_unit_id the department that owns it (牵头单位)
--   is_static    for field indicators: TRUE = 静态 (facilities, must meet the
--                standard), FALSE = 动态 (litter, parking: must be cleared)
create table indicators (
    indicator_id integer primary key,
    code         varchar not null unique,
    name         varchar not null,
    category     varchar not null check (category in ('field', 'materials', 'questionnaire',
                                                      'phone')),
    parent_id    integer,
    weight       double not null default 0,
    target       double,
    lead_unit_id integer,
    is_static    boolean
);

-- scores: one value of one unit in one assessment.
--   indicator_id NULL = the unit's overall (composite) score
--   value / max_value  points scored out of points possible (for survey items:
--                      the rate in percent out of 100)
--   sample_size  observations or respondents behind the value
create table scores (
    assessment_id integer not null,
    unit_id       integer not null,
    indicator_id  integer,
    value         double not null,
    max_value     double not null,
    sample_size   integer
);

-- points: one 点位 (inspection point).
--   type     one of the point categories (农贸市场, 背街小巷 …), stored in Chinese
--            because the operation manual names them so
--   unit_id  属地 unit (a community or street)
--   dept_id  主管 department
--   is_fixed TRUE = 固定点位, FALSE = 随机点位 pool
create table points (
    point_id integer primary key,
    name     varchar not null,
    type     varchar not null,
    unit_id  integer not null,
    dept_id  integer,
    is_fixed boolean not null
);

-- point_checks: one check of one indicator at one point on one day.
--   passed      TRUE = meets the standard / cleared
--   problem_id  the problem raised when it failed (NULL otherwise)
create table point_checks (
    check_id     integer primary key,
    point_id     integer not null,
    checked_on   date not null,
    indicator_id integer not null,
    is_static    boolean not null,
    passed       boolean not null,
    problem_id   varchar
);

-- problems: one problem found, its owners and its rectification.
--   problem_id    the ledger's own number (stable across re-imports)
--   source        undercover (暗访) | inspection (督查) | mock_test (模拟测评) |
--                 exposure (曝光) | hotline (群众反映/12345)
--   unit_id       属地 unit; dept_id 责任单位
--   category      short Chinese phrase (e.g. 乱堆乱放), no personal data
--   severity      normal (一般) | major (较重) | severe (严重)
--   is_dynamic    TRUE for 动态 problems (litter, parking) that must be 清零
--   deadline      整改时限
--   status        open (整改中) | rectified (已整改) | closed (已销号) — the
--                 status today; as-of metrics use the dates, not this column
--   rectified_on  day rectification was reported done; closed_on day verified
--   rebound_of    the earlier problem at the same point that came back
create table problems (
    problem_id   varchar primary key,
    found_on     date not null,
    source       varchar not null check (source in ('undercover', 'inspection', 'mock_test',
                                                    'exposure', 'hotline')),
    point_id     integer,
    unit_id      integer not null,
    dept_id      integer,
    indicator_id integer,
    category     varchar,
    description  varchar,
    severity     varchar not null check (severity in ('normal', 'major', 'severe')),
    is_dynamic   boolean not null default false,
    deadline     date not null,
    status       varchar not null check (status in ('open', 'rectified', 'closed')),
    rectified_on date,
    closed_on    date,
    rebound_of   varchar
);

-- problems_withdrawn: problems a ledger marked 作废 (withdrawn: a false report, the
-- same problem assigned twice). The same columns as problems, status 'withdrawn'; kept
-- apart so that no count, ranking or red flag sees them, while the record stays. A
-- later ledger that gives the problem another status moves it back (dashboard/importer.py).
create table problems_withdrawn (
    problem_id   varchar primary key,
    found_on     date not null,
    source       varchar not null,
    point_id     integer,
    unit_id      integer not null,
    dept_id      integer,
    indicator_id integer,
    category     varchar,
    description  varchar,
    severity     varchar not null,
    is_dynamic   boolean not null default false,
    deadline     date not null,
    status       varchar not null,
    rectified_on date,
    closed_on    date,
    rebound_of   varchar
);

-- campaigns: one household-visit campaign (大走访).
create table campaigns (
    campaign_id integer primary key,
    name        varchar not null,
    start_date  date not null,
    end_date    date not null
);

-- campaign_milestones: the stepped targets of a campaign (70% by 30 June …).
--   target_share  0..1 of the target that must be covered by due_date
create table campaign_milestones (
    campaign_id  integer not null,
    due_date     date not null,
    target_share double not null check (target_share > 0 and target_share <= 1),
    primary key (campaign_id, due_date)
);

-- visit_targets: how many subjects a unit must visit.
--   subject_kind  household (农户/居民户) | new_resident (新市民) |
--                 business (市场主体) | key_project (重点项目)
create table visit_targets (
    campaign_id  integer not null,
    unit_id      integer not null,
    subject_kind varchar not null check (subject_kind in ('household', 'new_resident',
                                                          'business', 'key_project')),
    target       integer not null check (target >= 0),
    primary key (campaign_id, unit_id, subject_kind)
);

-- visits: one visit to one subject.
--   subject_id   pseudonymous id of the household/business, unique within
--                (campaign, unit, subject_kind); never a name or phone number
--   visitor_unit_id  the unit whose cadres made the visit
--   entered_on_platform  TRUE when the visit was recorded on the platform
--   issues_raised  number of issues the subject raised
create table visits (
    campaign_id         integer not null,
    unit_id             integer not null,
    subject_kind        varchar not null,
    subject_id          varchar not null,
    visited_on          date not null,
    visitor_unit_id     integer,
    entered_on_platform boolean not null,
    issues_raised       integer not null default 0
);

-- materials: one 台账 ledger line as reported on one day (append-only, so
-- completion can be replayed as of any date: the latest line on or before it).
--   required / submitted / approved  item counts (approved NULL = not tracked)
--   deadline    the day the items are due
--   updated_on  the day this line was reported
create table materials (
    unit_id      integer not null,
    indicator_id integer not null,
    required     integer not null check (required >= 0),
    submitted    integer not null check (submitted >= 0),
    approved     integer,
    deadline     date not null,
    updated_on   date not null,
    primary key (unit_id, indicator_id, updated_on)
);

-- imports: one import of one file (or one demo generation).
--   result  ok | rejected
create table imports (
    import_id    integer primary key,
    table_name   varchar not null,
    file_name    varchar not null,
    rows         integer not null,
    rows_added   integer not null default 0,
    rows_updated integer not null default 0,
    "at"         timestamp not null,
    by_user      varchar not null,
    checksum     varchar not null,
    result       varchar not null
);
