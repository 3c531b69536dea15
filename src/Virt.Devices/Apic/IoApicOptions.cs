namespace Virt.Devices;

/// <summary>Construction options of an <see cref="IoApic"/>.</summary>
public sealed record IoApicOptions
{
    /// <summary>The I/O APIC ID at reset (IOAPICID bits 27:24, 0-15). Default 0, the ID QEMU's <c>pc</c> machine gives it in its MADT.</summary>
    public byte Id { get; init; }
}
