"""Initial schema: patients, studies, series, analysis runs, per-series outcomes, measurements, QC flags, findings.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-24 20:34:30.171016
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('patients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_key', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patients')),
    sa.UniqueConstraint('patient_key', name=op.f('uq_patients_patient_key'))
    )
    op.create_table('analysis_runs',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('result_schema', sa.String(length=64), nullable=True),
    sa.Column('software_version', sa.String(length=64), nullable=False),
    sa.Column('model_versions', sa.JSON(), nullable=False),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('skipped_files', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('running', 'complete', 'failed')", name=op.f('ck_analysis_runs_status')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_analysis_runs_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analysis_runs'))
    )
    with op.batch_alter_table('analysis_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analysis_runs_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_analysis_runs_started_at'), ['started_at'], unique=False)

    op.create_table('studies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_uid', sa.String(length=64), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_studies_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_studies')),
    sa.UniqueConstraint('study_uid', name=op.f('uq_studies_study_uid'))
    )
    with op.batch_alter_table('studies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_studies_patient_id'), ['patient_id'], unique=False)

    op.create_table('run_studies',
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['analysis_runs.id'], name=op.f('fk_run_studies_run_id_analysis_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['study_id'], ['studies.id'], name=op.f('fk_run_studies_study_id_studies')),
    sa.PrimaryKeyConstraint('run_id', 'study_id', name=op.f('pk_run_studies'))
    )
    with op.batch_alter_table('run_studies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_run_studies_study_id'), ['study_id'], unique=False)

    op.create_table('series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_uid', sa.String(length=64), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['study_id'], ['studies.id'], name=op.f('fk_series_study_id_studies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_series')),
    sa.UniqueConstraint('series_uid', name=op.f('uq_series_series_uid'))
    )
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_series_study_id'), ['study_id'], unique=False)

    op.create_table('run_series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('seconds', sa.Float(), nullable=True),
    sa.Column('result_schema', sa.String(length=64), nullable=True),
    sa.Column('qc_status', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['analysis_runs.id'], name=op.f('fk_run_series_run_id_analysis_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_run_series_series_id_series')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_run_series'))
    )
    with op.batch_alter_table('run_series', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_run_series_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_run_series_series_id'), ['series_id'], unique=False)

    op.create_table('findings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.Column('run_series_id', sa.Integer(), nullable=True),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('statement', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('rule', sa.Text(), nullable=False),
    sa.Column('citation', sa.Text(), nullable=False),
    sa.Column('inputs', sa.JSON(), nullable=False),
    sa.Column('missing', sa.JSON(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['analysis_runs.id'], name=op.f('fk_findings_run_id_analysis_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_series_id'], ['run_series.id'], name=op.f('fk_findings_run_series_id_run_series'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_findings'))
    )
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_findings_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_findings_run_series_id'), ['run_series_id'], unique=False)

    op.create_table('measurements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.Column('run_series_id', sa.Integer(), nullable=True),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('unit', sa.String(length=32), nullable=False),
    sa.Column('method', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('reference', sa.Text(), nullable=False),
    sa.Column('ref_low', sa.Float(), nullable=True),
    sa.Column('ref_high', sa.Float(), nullable=True),
    sa.Column('ref_population', sa.Text(), nullable=True),
    sa.Column('ref_citation', sa.Text(), nullable=True),
    sa.Column('phase', sa.String(length=32), nullable=True),
    sa.Column('segment', sa.Integer(), nullable=True),
    sa.Column('modality', sa.String(length=16), nullable=True),
    sa.Column('measured_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('z_score', sa.Float(), nullable=True),
    sa.Column('vessel', sa.String(length=8), nullable=True),
    sa.Column('vessel_segment', sa.String(length=16), nullable=True),
    sa.Column('pattern', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['analysis_runs.id'], name=op.f('fk_measurements_run_id_analysis_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_series_id'], ['run_series.id'], name=op.f('fk_measurements_run_series_id_run_series'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measurements'))
    )
    with op.batch_alter_table('measurements', schema=None) as batch_op:
        batch_op.create_index('ix_measurements_run_code', ['run_id', 'code'], unique=False)
        batch_op.create_index(batch_op.f('ix_measurements_run_series_id'), ['run_series_id'], unique=False)

    op.create_table('qc_flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.Column('run_series_id', sa.Integer(), nullable=True),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['analysis_runs.id'], name=op.f('fk_qc_flags_run_id_analysis_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_series_id'], ['run_series.id'], name=op.f('fk_qc_flags_run_series_id_run_series'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qc_flags'))
    )
    with op.batch_alter_table('qc_flags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qc_flags_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_qc_flags_run_series_id'), ['run_series_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('qc_flags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qc_flags_run_series_id'))
        batch_op.drop_index(batch_op.f('ix_qc_flags_run_id'))

    op.drop_table('qc_flags')
    with op.batch_alter_table('measurements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_measurements_run_series_id'))
        batch_op.drop_index('ix_measurements_run_code')

    op.drop_table('measurements')
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_findings_run_series_id'))
        batch_op.drop_index(batch_op.f('ix_findings_run_id'))

    op.drop_table('findings')
    with op.batch_alter_table('run_series', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_run_series_series_id'))
        batch_op.drop_index(batch_op.f('ix_run_series_run_id'))

    op.drop_table('run_series')
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_series_study_id'))

    op.drop_table('series')
    with op.batch_alter_table('run_studies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_run_studies_study_id'))

    op.drop_table('run_studies')
    with op.batch_alter_table('studies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_studies_patient_id'))

    op.drop_table('studies')
    with op.batch_alter_table('analysis_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analysis_runs_started_at'))
        batch_op.drop_index(batch_op.f('ix_analysis_runs_patient_id'))

    op.drop_table('analysis_runs')
    op.drop_table('patients')
