using Virt.Devices;

namespace Virt.Machine.Tests.Docs;

/// <summary>The saved state of the <see cref="ScratchPciCard"/>: its configuration space and its six registers.</summary>
public sealed record ScratchPciCardState(PciConfigurationState Configuration, uint[] Registers);
