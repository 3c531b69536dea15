namespace Virt.Cpu;

/// <summary>
/// The architectural state of one CPU in one place: general registers, instruction pointer, EFLAGS with the lazy-flag record,
/// control registers and EFER, segment registers with their descriptor caches and precomputed access bounds, the system
/// table registers (GDTR, IDTR, LDTR, TR) and the current privilege level.
/// </summary>
/// <remarks>
/// <para>
/// Every part of the core (the MMU, the decoder, the execution engines, the system files) reads and writes this one state,
/// by reference (<see cref="Cpu.Context"/>); none of them keeps a copy. It is a struct embedded in the <see cref="Cpu"/>
/// object, with plain fields, so that the interpreter's hot paths reach a register or a flag with one load from the CPU
/// object, exactly as if the fields were the CPU's own (a separate object cost about 10% on the mixed benchmark). Never copy
/// it: take it with <c>ref</c>.
/// </para>
/// <para>
/// The status flags (CF, PF, AF, ZF, SF, OF) are not in <see cref="Eflags"/> while <see cref="LazyOp"/> is not
/// <see cref="Virt.Cpu.LazyOp.None"/>: they are derived from the last operation's record (<see cref="LazyDst"/>,
/// <see cref="LazySrc"/>, <see cref="LazyRes"/>, <see cref="LazySize"/>) when read (see Cpu.Flags.cs).
/// </para>
/// </remarks>
internal struct CpuContext
{
    /// <summary>The number of segment registers (ES, CS, SS, DS, FS, GS).</summary>
    public const int SegmentCount = 6;

    /// <summary>Creates the state with its register arrays allocated (all zero).</summary>
    public CpuContext()
    {
    }

    /// <summary>RAX..R15 (only the low 32 bits of the first eight are reachable without long mode).</summary>
    public readonly ulong[] Gpr = new ulong[16];

    /// <summary>The visible selectors, indexed by <see cref="SegmentRegister"/>.</summary>
    public readonly ushort[] SegSelector = new ushort[SegmentCount];

    /// <summary>The descriptor caches' base addresses.</summary>
    public readonly ulong[] SegBase = new ulong[SegmentCount];

    /// <summary>The descriptor caches' limits (byte granular).</summary>
    public readonly uint[] SegLimit = new uint[SegmentCount];

    /// <summary>The descriptor caches' attributes (see <see cref="SegmentState.Attributes"/>).</summary>
    public readonly ushort[] SegAttributes = new ushort[SegmentCount];

    /// <summary>One past the last offset a read may reach without the slow check (see Cpu.RefreshAccessBounds).</summary>
    public readonly ulong[] SegReadEnd = new ulong[SegmentCount];

    /// <summary>One past the last offset a write may reach without the slow check.</summary>
    public readonly ulong[] SegWriteEnd = new ulong[SegmentCount];

    /// <summary>
    /// XMM0-XMM15, each 128 bits, lane 0 in the low bits (little-endian, as stored by MOVUPS). Only XMM0-XMM7 are reachable
    /// outside 64-bit mode. Lanes are reached through Cpu.Simd.cs's helpers.
    /// </summary>
    public readonly UInt128[] Xmm = new UInt128[16];

    /// <summary>The four PDPTE registers of PAE paging, loaded from CR3.</summary>
    public readonly ulong[] Pdpte = new ulong[4];

    /// <summary>
    /// The instruction pointer, RIP (already advanced past the executing instruction while it runs). Outside 64-bit mode only
    /// the low 32 (or 16) bits are ever set: the interpreter masks it with the code size after every instruction.
    /// </summary>
    public ulong Rip;

    /// <summary>The offset of the executing instruction's first byte (the fault return address).</summary>
    public ulong InstructionStart;

    /// <summary>EFLAGS, with the status flags valid only while <see cref="LazyOp"/> is <see cref="Virt.Cpu.LazyOp.None"/>.</summary>
    public uint Eflags;

    /// <summary>CR0 (bits in <see cref="Cr0Bits"/>).</summary>
    public ulong Cr0;

    /// <summary>CR2, the last page-fault linear address.</summary>
    public ulong Cr2;

    /// <summary>CR3, the paging structure base.</summary>
    public ulong Cr3;

    /// <summary>CR4 (bits in <see cref="Cr4Bits"/>).</summary>
    public ulong Cr4;

    /// <summary>MXCSR, the SSE control and status register (bits in <see cref="MxcsrBits"/>).</summary>
    public uint Mxcsr = MxcsrBits.ResetValue;

    /// <summary>XCR0, the extended control register XSETBV writes (bit 0 x87, always set; bit 1 SSE).</summary>
    public ulong Xcr0 = 1;

    /// <summary>IA32_EFER (bits in <see cref="EferBits"/>).</summary>
    public ulong Efer;

    /// <summary>GDTR base.</summary>
    public ulong GdtBase;

    /// <summary>GDTR limit.</summary>
    public ushort GdtLimit;

    /// <summary>IDTR base.</summary>
    public ulong IdtBase;

    /// <summary>IDTR limit.</summary>
    public ushort IdtLimit;

    /// <summary>LDTR selector.</summary>
    public ushort LdtSelector;

    /// <summary>LDTR base.</summary>
    public ulong LdtBase;

    /// <summary>LDTR limit.</summary>
    public uint LdtLimit;

    /// <summary>TR selector.</summary>
    public ushort TrSelector;

    /// <summary>TR base.</summary>
    public ulong TrBase;

    /// <summary>TR limit.</summary>
    public uint TrLimit;

    /// <summary>TR attributes (type, busy bit).</summary>
    public ushort TrAttributes;

    /// <summary>The current privilege level (0 in real mode, 3 in virtual-8086 mode).</summary>
    public int Cpl;

    /// <summary>CS.D: instructions decode with 32-bit default sizes.</summary>
    public bool Code32;

    /// <summary>64-bit mode (IA-32e mode with CS.L set): instructions decode with bitness 64, segments are flat.</summary>
    public bool Code64;

    /// <summary>The decode-cache key bits of the current code size (see DecodeCache.CodeSize32Key).</summary>
    public ulong CodeSizeKey;

    /// <summary>The mask of the instruction pointer: FFFFh, FFFFFFFFh, or all ones in 64-bit mode.</summary>
    public ulong IpMask;

    /// <summary>SS.B: the stack pointer is ESP rather than SP.</summary>
    public bool Stack32;

    /// <summary>The kind of the last flag-setting operation, or <see cref="Virt.Cpu.LazyOp.None"/> when EFLAGS holds the status flags.</summary>
    public LazyOp LazyOp;

    /// <summary>The destination operand of the last flag-setting operation.</summary>
    public ulong LazyDst;

    /// <summary>The source operand of the last flag-setting operation.</summary>
    public ulong LazySrc;

    /// <summary>The result of the last flag-setting operation.</summary>
    public ulong LazyRes;

    /// <summary>The operand size in bytes of the last flag-setting operation.</summary>
    public int LazySize;

    /// <summary>The carry-in of the last ADC or SBB.</summary>
    public bool LazyCarryIn;
}
