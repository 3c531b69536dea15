using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// The fast forms of 64-bit mode: memory operands with a 64-bit address size (RIP-relative included) whose access hits
/// the software TLB, for MOV loads and stores and the ALU forms with a memory source or destination, at operand sizes 4
/// and 8. In 64-bit mode CS, DS, ES and SS have base 0 and no limit and FS/GS add their base (Intel SDM Vol. 3A, 3.4.4), so
/// the fast path is the effective address, one compare for FS/GS, and the TLB probe. MOVZX/MOVSX/MOVSXD loads, byte and
/// word moves and INC/DEC of memory have forms too (<see cref="ExecuteNarrowLong"/>). A non-canonical address never hits:
/// only the slow path fills the TLB, and it checks the canonical form first (#GP or #SS).
/// </summary>
public sealed unsafe partial class Cpu
{
    /// <summary>The linear address of a 64-bit-mode data access before the canonical check.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong Linear64(int segment, ulong offset) =>
        segment >= Fs ? Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_ctx.SegBase), segment) + offset : offset;

    /// <summary>A read of 1, 2, 4 or 8 bytes in 64-bit mode: inline on a TLB hit within the page, else <see cref="ReadMem64"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryReadFast64(int segment, ulong offset, int size, out ulong value)
    {
        ulong linear = Linear64(segment, offset);
        ulong page = linear >> PageShift;
        nint slot = (nint)(page & (TlbEntries - 1));
        uint inPage = (uint)linear & PageMask;
        if (Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_tlbReadTag), slot) == page + 1 && inPage <= PhysicalPageSize - (uint)size)
        {
            value = LoadFromHost((byte*)Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_tlbReadHost), slot) + inPage, size);
            return true;
        }

        value = ReadMem64(segment, offset, size);
        return !_faulted;
    }

    /// <summary>A write of 1, 2, 4 or 8 bytes in 64-bit mode: inline on a write-TLB hit, else <see cref="WriteMem64"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WriteFast64(int segment, ulong offset, int size, ulong value)
    {
        ulong linear = Linear64(segment, offset);
        ulong page = linear >> PageShift;
        nint slot = (nint)(page & (TlbEntries - 1));
        uint inPage = (uint)linear & PageMask;
        if (Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_tlbWriteTag), slot) == page + 1 && inPage <= PhysicalPageSize - (uint)size)
        {
            StoreToHost((byte*)Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_tlbWriteHost), slot) + inPage, size, value);
            return;
        }

        WriteMem64(segment, offset, size, value);
    }

    /// <summary>A 64-bit-addressed memory source (see <see cref="FlatMemorySource"/> for the 32-bit one).</summary>
    private readonly struct LongMemorySource : ISourceAccess
    {
        public static bool ChecksFaultState => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool TryRead(Cpu cpu, ref DecodedInstruction d, int size, out ulong value) =>
            cpu.TryReadFast64(d.Seg, cpu.EffectiveAddress64(ref d), size, out value);
    }

    /// <summary>A 64-bit-addressed memory destination (read-modify-write through the same fast path).</summary>
    private readonly struct LongMemoryDestination : IDestinationAccess
    {
        public static bool ChecksFaultState => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool TryRead(Cpu cpu, ref DecodedInstruction d, int size, out ulong value, out ulong ea)
        {
            ea = cpu.EffectiveAddress64(ref d);
            return cpu.TryReadFast64(d.Seg, ea, size, out value);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Write(Cpu cpu, ref DecodedInstruction d, int size, ulong ea, ulong value) => cpu.WriteFast64(d.Seg, ea, size, value);
    }

    /// <summary>MOV r32/r64, m (64-bit mode; a 32-bit load zero-extends).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ExecuteLoadLong(ref DecodedInstruction d)
    {
        if (TryReadFast64(d.Seg, EffectiveAddress64(ref d), d.OpSize, out ulong value))
        {
            Gpr(d.Reg0) = value;
        }
    }

    /// <summary>MOV m32/m64, r/imm (64-bit mode).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ExecuteStoreLong(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        ulong value = d.Kind1 == OperandKind.Immediate ? d.Imm : ReadRegister(d.Reg1, size);
        WriteFast64(d.Seg, EffectiveAddress64(ref d), size, value);
    }

    /// <summary>The ALU forms with a 64-bit-addressed memory operand (register destination, or memory destination).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ExecuteAluLong(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        switch (d.Op)
        {
            case Op.AddLoadLong: ExecuteAlu<RegisterDestination, LongMemorySource, AddOperation>(ref d, size); break;
            case Op.SubLoadLong: ExecuteAlu<RegisterDestination, LongMemorySource, SubOperation>(ref d, size); break;
            case Op.CmpLoadLong: ExecuteAlu<RegisterDestination, LongMemorySource, CmpOperation>(ref d, size); break;
            case Op.AndLoadLong: ExecuteAlu<RegisterDestination, LongMemorySource, AndOperation>(ref d, size); break;
            case Op.OrLoadLong: ExecuteAlu<RegisterDestination, LongMemorySource, OrOperation>(ref d, size); break;
            case Op.XorLoadLong: ExecuteAlu<RegisterDestination, LongMemorySource, XorOperation>(ref d, size); break;
            case Op.AddMemLong: ExecuteAlu<LongMemoryDestination, RegisterOrImmediateSource, AddOperation>(ref d, size); break;
            case Op.SubMemLong: ExecuteAlu<LongMemoryDestination, RegisterOrImmediateSource, SubOperation>(ref d, size); break;
            default: ExecuteAlu<LongMemoryDestination, RegisterOrImmediateSource, CmpOperation>(ref d, size); break;
        }
    }

    /// <summary>
    /// MOVZX/MOVSX r32/r64, m8/m16, MOVSXD r32/r64, m32, MOV r8, m8, MOV m8/m16, r/imm and INC/DEC m32/m64 with a
    /// 64-bit-addressed operand: the same results, flags and faults as <see cref="ExecuteMovzx"/>, <see cref="ExecuteMov"/>
    /// and <see cref="ExecuteIncDecGeneric"/> (whose slow path they share on a TLB miss). Out of line, one call for all six,
    /// so that the run loop's inlining budget stays with the branches (see <see cref="ExecuteRmw32"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ExecuteNarrowLong(ref DecodedInstruction d)
    {
        ulong value;
        switch (d.Op)
        {
            case Op.LoadZxLong:
                if (TryReadFast64(d.Seg, EffectiveAddress64(ref d), d.Size1, out value))
                {
                    WriteRegister(d.Reg0, d.OpSize, value);
                }

                break;
            case Op.LoadSxLong:
                if (TryReadFast64(d.Seg, EffectiveAddress64(ref d), d.Size1, out value))
                {
                    WriteRegister(d.Reg0, d.OpSize, (ulong)SignExtend(value, d.Size1));
                }

                break;
            case Op.Load8Long:
                if (TryReadFast64(d.Seg, EffectiveAddress64(ref d), 1, out value))
                {
                    WriteRegister(d.Reg0, 1, value);
                }

                break;
            case Op.StoreNarrowLong:
                {
                    int size = d.OpSize;
                    value = d.Kind1 == OperandKind.Immediate ? d.Imm : ReadRegister(d.Reg1, size);
                    WriteFast64(d.Seg, EffectiveAddress64(ref d), size, value);
                    break;
                }

            case Op.IncMemLong: ExecuteIncDec<LongMemoryDestination>(ref d, increment: true, d.OpSize); break;
            default: ExecuteIncDec<LongMemoryDestination>(ref d, increment: false, d.OpSize); break;
        }
    }
}
