namespace Virt.Machine;

/// <summary>What the builder hands the machine besides its devices: the ISA IRQ lines, the APIC part if any, and the MMIO windows that read the clock.</summary>
/// <param name="Irqs">The ISA interrupt lines (to the PIC, and to the I/O APIC when there is one).</param>
/// <param name="Apic">The local and I/O APIC, or null for the PIC-only board.</param>
/// <param name="TimedWindows">MMIO windows to bring the clock up to the CPU before each access.</param>
internal sealed record BoardWiring(IsaInterruptRouting Irqs, ApicBoard? Apic, IReadOnlyList<ClockSynchronizingMmioDevice> TimedWindows);
