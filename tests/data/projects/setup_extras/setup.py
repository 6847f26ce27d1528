from setuptools import find_packages, setup

REQUIREMENTS = [
    "Django>=4.2,<4.3",
    "dj-database-url>=2.1",
    "whitenoise>=6.5",
]

setup(
    name="legacy",
    version="3.0.1",
    packages=find_packages(exclude=["tests"]),
    python_requires=">=3.9",
    install_requires=REQUIREMENTS,
    extras_require={
        "postgres": ["psycopg2-binary>=2.9"],
        "docs": ["sphinx>=7"],
    },
)
