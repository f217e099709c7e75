"""Test tools: network namespaces with veth pairs (``netns``) and packets (``packets``).

This package owns what tests of BPF programs need around them, not the BPF lifecycle
itself; the pytest plugin (``libbpf_py.pytest_plugin``, entry point ``libbpf_py``)
builds on it. ``libbpf_py.netns`` and ``libbpf_py.packets`` still import.
"""
