namespace Virt.Devices;

/// <summary>Guest memory as the bus-master IDE engine reaches it; false when the function may not master the bus.</summary>
internal interface IIdeBusMasterMemory
{
    bool Read(ulong address, Span<byte> destination);

    bool Write(ulong address, ReadOnlySpan<byte> source);
}
