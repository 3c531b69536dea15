using System.Buffers.Binary;

namespace Virt.Machine.Acpi.Aml;

/// <summary>
/// Builds a resource template (the buffer of resource descriptors that <c>_CRS</c> and <c>_PRS</c> return; ACPI 6.5,
/// 6.4 "Resource Data Types for ACPI"). Descriptors are added in order; <see cref="Build"/> appends the end tag.
/// </summary>
public sealed class AmlResourceTemplate
{
    /// <summary>Small item: IRQ descriptor (tag 4), 2 or 3 bytes.</summary>
    public const byte IrqTag = 0x04;

    /// <summary>Small item: I/O port descriptor (tag 8), 7 bytes.</summary>
    public const byte IoTag = 0x08;

    /// <summary>Small item: end tag (tag 0Fh), 1 byte (the checksum; 0 means "not checked").</summary>
    public const byte EndTag = 0x0F;

    /// <summary>Large item: 32-bit fixed memory range.</summary>
    public const byte Memory32FixedItem = 0x86;

    /// <summary>Large item: DWord address space.</summary>
    public const byte DWordAddressSpaceItem = 0x87;

    /// <summary>Large item: Word address space.</summary>
    public const byte WordAddressSpaceItem = 0x88;

    /// <summary>Large item: extended interrupt.</summary>
    public const byte ExtendedInterruptItem = 0x89;

    /// <summary>Address space resource type: memory.</summary>
    public const byte MemoryRange = 0;

    /// <summary>Address space resource type: I/O.</summary>
    public const byte IoRange = 1;

    /// <summary>Address space resource type: bus numbers.</summary>
    public const byte BusNumberRange = 2;

    /// <summary>General flags: the minimum address is fixed (MIF).</summary>
    private const byte MinFixed = 1 << 2;

    /// <summary>General flags: the maximum address is fixed (MAF).</summary>
    private const byte MaxFixed = 1 << 3;

    /// <summary>I/O type flags: the range covers both ISA and non-ISA ports (EntireRange).</summary>
    private const byte IoEntireRange = 0x03;

    /// <summary>Memory type flags: read-write.</summary>
    private const byte MemoryReadWrite = 1 << 0;

    /// <summary>Memory type flags bits 2-1: cacheable.</summary>
    private const byte MemoryCacheable = 1 << 1;

    /// <summary>IRQ flags: edge-triggered (bit 0; 0 = level).</summary>
    private const byte IrqEdge = 1 << 0;

    /// <summary>IRQ flags: active-low (bit 3).</summary>
    private const byte IrqActiveLow = 1 << 3;

    /// <summary>IRQ flags: shared (bit 4).</summary>
    private const byte IrqShared = 1 << 4;

    /// <summary>Extended interrupt flags: consumer (bit 0).</summary>
    private const byte InterruptConsumer = 1 << 0;

    /// <summary>Extended interrupt flags: edge (bit 1).</summary>
    private const byte InterruptEdge = 1 << 1;

    /// <summary>Extended interrupt flags: active-low (bit 2).</summary>
    private const byte InterruptActiveLow = 1 << 2;

    /// <summary>Extended interrupt flags: shared (bit 3).</summary>
    private const byte InterruptShared = 1 << 3;

    /// <summary>I/O descriptor information: 16-bit address decoding.</summary>
    private const byte IoDecode16 = 1;

    private readonly List<byte> _bytes = [];

    /// <summary><c>IO (Decode16, min, max, alignment, length)</c>.</summary>
    /// <param name="minimum">The lowest base port.</param>
    /// <param name="maximum">The highest base port.</param>
    /// <param name="alignment">The base alignment.</param>
    /// <param name="length">The number of ports.</param>
    /// <returns>This template.</returns>
    public AmlResourceTemplate Io(ushort minimum, ushort maximum, byte alignment, byte length)
    {
        _bytes.Add((IoTag << 3) | 7);
        _bytes.Add(IoDecode16);
        AddUInt16(minimum);
        AddUInt16(maximum);
        _bytes.Add(alignment);
        _bytes.Add(length);
        return this;
    }

    /// <summary><c>IRQNoFlags () { irqs }</c>: edge-triggered, active-high, exclusive ISA interrupts.</summary>
    /// <param name="irqs">IRQs 0 to 15.</param>
    /// <returns>This template.</returns>
    public AmlResourceTemplate IrqNoFlags(params int[] irqs)
    {
        _bytes.Add((IrqTag << 3) | 2);
        AddUInt16(IrqMask(irqs));
        return this;
    }

    /// <summary><c>IRQ (Edge|Level, ActiveHigh|ActiveLow, Exclusive|Shared) { irqs }</c>.</summary>
    /// <param name="edge">Edge-triggered (else level).</param>
    /// <param name="activeLow">Active-low (else active-high).</param>
    /// <param name="shared">Shared (else exclusive).</param>
    /// <param name="irqs">IRQs 0 to 15.</param>
    /// <returns>This template.</returns>
    public AmlResourceTemplate Irq(bool edge, bool activeLow, bool shared, params int[] irqs)
    {
        _bytes.Add((IrqTag << 3) | 3);
        AddUInt16(IrqMask(irqs));
        _bytes.Add((byte)((edge ? IrqEdge : 0) | (activeLow ? IrqActiveLow : 0) | (shared ? IrqShared : 0)));
        return this;
    }

    /// <summary><c>Interrupt (ResourceConsumer, Edge|Level, ActiveHigh|ActiveLow, Exclusive|Shared) { interrupts }</c>.</summary>
    /// <param name="edge">Edge-triggered (else level).</param>
    /// <param name="activeLow">Active-low (else active-high).</param>
    /// <param name="shared">Shared (else exclusive).</param>
    /// <param name="interrupts">One to 255 interrupt numbers.</param>
    /// <returns>This template.</returns>
    public AmlResourceTemplate Interrupt(bool edge, bool activeLow, bool shared, params uint[] interrupts)
    {
        ArgumentNullException.ThrowIfNull(interrupts);
        if (interrupts.Length is 0 or > byte.MaxValue)
        {
            throw new ArgumentException("An extended interrupt descriptor lists 1 to 255 interrupts.", nameof(interrupts));
        }

        _bytes.Add(ExtendedInterruptItem);
        AddUInt16((ushort)(2 + (4 * interrupts.Length)));
        _bytes.Add((byte)(InterruptConsumer | (edge ? InterruptEdge : 0) | (activeLow ? InterruptActiveLow : 0) | (shared ? InterruptShared : 0)));
        _bytes.Add((byte)interrupts.Length);
        foreach (uint interrupt in interrupts)
        {
            AddUInt32(interrupt);
        }

        return this;
    }

    /// <summary><c>Memory32Fixed (ReadWrite|ReadOnly, base, length)</c>.</summary>
    /// <param name="readWrite">Whether the range is writable.</param>
    /// <param name="baseAddress">The base.</param>
    /// <param name="length">The length in bytes.</param>
    /// <returns>This template.</returns>
    public AmlResourceTemplate Memory32Fixed(bool readWrite, uint baseAddress, uint length)
    {
        _bytes.Add(Memory32FixedItem);
        AddUInt16(9);
        _bytes.Add(readWrite ? MemoryReadWrite : (byte)0);
        AddUInt32(baseAddress);
        AddUInt32(length);
        return this;
    }

    /// <summary><c>WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, min, max, 0, length)</c>.</summary>
    /// <param name="minimum">The first bus.</param>
    /// <param name="maximum">The last bus.</param>
    /// <returns>This template.</returns>
    public AmlResourceTemplate WordBusNumber(ushort minimum, ushort maximum) =>
        WordAddressSpace(BusNumberRange, 0, minimum, maximum);

    /// <summary><c>WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0, min, max, 0, length)</c>.</summary>
    /// <param name="minimum">The first port.</param>
    /// <param name="maximum">The last port.</param>
    /// <returns>This template.</returns>
    public AmlResourceTemplate WordIo(ushort minimum, ushort maximum) =>
        WordAddressSpace(IoRange, IoEntireRange, minimum, maximum);

    /// <summary><c>DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable|NonCacheable, ReadWrite, 0, min, max, 0, length)</c>.</summary>
    /// <param name="cacheable">Cacheable (else non-cacheable).</param>
    /// <param name="minimum">The first address.</param>
    /// <param name="maximum">The last address (inclusive).</param>
    /// <returns>This template.</returns>
    public AmlResourceTemplate DWordMemory(bool cacheable, uint minimum, uint maximum)
    {
        if (maximum < minimum)
        {
            throw new ArgumentOutOfRangeException(nameof(maximum), $"DWordMemory: maximum 0x{maximum:X} is below minimum 0x{minimum:X}.");
        }

        _bytes.Add(DWordAddressSpaceItem);
        AddUInt16(23);
        _bytes.Add(MemoryRange);
        _bytes.Add(MinFixed | MaxFixed); // producer, positive decode
        _bytes.Add((byte)(MemoryReadWrite | (cacheable ? MemoryCacheable : 0)));
        AddUInt32(0); // granularity
        AddUInt32(minimum);
        AddUInt32(maximum);
        AddUInt32(0); // translation
        AddUInt32(maximum - minimum + 1);
        return this;
    }

    /// <summary>The descriptors with the end tag, as a buffer node.</summary>
    /// <returns>The node.</returns>
    public AmlBuffer Build()
    {
        var bytes = new List<byte>(_bytes) { (EndTag << 3) | 1, 0 };
        return new AmlBuffer(bytes.ToArray());
    }

    private static ushort IrqMask(int[] irqs)
    {
        ArgumentNullException.ThrowIfNull(irqs);
        ushort mask = 0;
        foreach (int irq in irqs)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(irq);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(irq, 15);
            mask |= (ushort)(1 << irq);
        }

        return mask;
    }

    private AmlResourceTemplate WordAddressSpace(byte type, byte typeFlags, ushort minimum, ushort maximum)
    {
        if (maximum < minimum)
        {
            throw new ArgumentOutOfRangeException(nameof(maximum), $"Word address space: maximum 0x{maximum:X} is below minimum 0x{minimum:X}.");
        }

        _bytes.Add(WordAddressSpaceItem);
        AddUInt16(13);
        _bytes.Add(type);
        _bytes.Add(MinFixed | MaxFixed);
        _bytes.Add(typeFlags);
        AddUInt16(0); // granularity
        AddUInt16(minimum);
        AddUInt16(maximum);
        AddUInt16(0); // translation
        AddUInt16((ushort)(maximum - minimum + 1));
        return this;
    }

    private void AddUInt16(ushort value)
    {
        _bytes.Add((byte)value);
        _bytes.Add((byte)(value >> 8));
    }

    private void AddUInt32(uint value)
    {
        Span<byte> bytes = stackalloc byte[sizeof(uint)];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        _bytes.AddRange(bytes.ToArray());
    }
}
