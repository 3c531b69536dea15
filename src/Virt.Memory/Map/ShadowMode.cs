namespace Virt.Memory;

/// <summary>
/// Where reads and writes of a <see cref="MemoryRegionKind.ShadowableRom"/> region go, as the
/// i440FX PAM registers select for the C0000h-FFFFFh firmware area (Intel 440FX PMC datasheet, 3.2.18).
/// </summary>
[Flags]
public enum ShadowMode
{
    /// <summary>Reads come from ROM; writes are ignored (the reset state).</summary>
    ReadRomWriteIgnored = 0,

    /// <summary>Reads come from the shadow RAM.</summary>
    ReadFromRam = 1,

    /// <summary>Writes go to the shadow RAM.</summary>
    WriteToRam = 2,

    /// <summary>Reads from ROM, writes to RAM: how firmware copies itself into its shadow.</summary>
    ReadRomWriteRam = WriteToRam,

    /// <summary>Reads and writes both go to the shadow RAM.</summary>
    ReadWriteRam = ReadFromRam | WriteToRam,
}
