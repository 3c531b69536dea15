using System.Runtime.CompilerServices;
using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// Operand access as generic struct parameters: an instruction's semantics are written once as a generic method over a
/// destination and a source accessor, and each fast form is that method instantiated with the accessors of its operand
/// form. RyuJIT compiles a generic method once per struct type argument, with the accessors' static methods inlined, so a
/// register-only instantiation has no operand-kind switch and no fault check, and a flat 32-bit memory instantiation is the
/// segment bound check plus TLB probe; the generic instantiation is the full operand decoding with fault checks.
/// </summary>
public sealed partial class Cpu
{
    /// <summary>Reads and writes an instruction's destination (operand 0).</summary>
    private interface IDestinationAccess
    {
        /// <summary>Whether a read or write may raise a fault that the caller must check through <see cref="_faulted"/>.</summary>
        static abstract bool ChecksFaultState { get; }

        /// <summary>Reads the destination; false when the access faulted (the fault is pending and nothing may change).</summary>
        static abstract bool TryRead(Cpu cpu, ref DecodedInstruction d, int size, out ulong value, out ulong ea);

        /// <summary>Writes the destination read before at <paramref name="ea"/>.</summary>
        static abstract void Write(Cpu cpu, ref DecodedInstruction d, int size, ulong ea, ulong value);
    }

    /// <summary>Reads an instruction's source (operand 1).</summary>
    private interface ISourceAccess
    {
        /// <summary>Whether a read may raise a fault that the caller must check through <see cref="_faulted"/>.</summary>
        static abstract bool ChecksFaultState { get; }

        /// <summary>Reads the source; false when the access faulted.</summary>
        static abstract bool TryRead(Cpu cpu, ref DecodedInstruction d, int size, out ulong value);
    }

    /// <summary>A general register destination (the register forms chosen at translation).</summary>
    private readonly struct RegisterDestination : IDestinationAccess
    {
        public static bool ChecksFaultState => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool TryRead(Cpu cpu, ref DecodedInstruction d, int size, out ulong value, out ulong ea)
        {
            ea = 0;
            value = cpu.ReadRegister(d.Reg0, size);
            return true;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Write(Cpu cpu, ref DecodedInstruction d, int size, ulong ea, ulong value) => cpu.WriteRegister(d.Reg0, size, value);
    }

    /// <summary>A register or immediate source.</summary>
    private readonly struct RegisterOrImmediateSource : ISourceAccess
    {
        public static bool ChecksFaultState => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool TryRead(Cpu cpu, ref DecodedInstruction d, int size, out ulong value)
        {
            value = d.Kind1 == OperandKind.Immediate ? d.Imm : cpu.ReadRegister(d.Reg1, size);
            return true;
        }
    }

    /// <summary>
    /// A memory operand with a 32-bit address size, as a source: the segment's precomputed bound and a TLB hit inline, the
    /// generic path (faults, TLB fill, MMIO) otherwise (see Cpu.FastMemory.cs).
    /// </summary>
    private readonly struct FlatMemorySource : ISourceAccess
    {
        public static bool ChecksFaultState => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool TryRead(Cpu cpu, ref DecodedInstruction d, int size, out ulong value)
        {
            bool ok = cpu.TryReadFast(d.Seg, cpu.EffectiveAddress32(ref d), size, out uint read);
            value = read;
            return ok;
        }
    }

    /// <summary>A memory operand with a 32-bit address size, as a destination (read-modify-write through the same fast path).</summary>
    private readonly struct FlatMemoryDestination : IDestinationAccess
    {
        public static bool ChecksFaultState => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool TryRead(Cpu cpu, ref DecodedInstruction d, int size, out ulong value, out ulong ea)
        {
            uint ea32 = cpu.EffectiveAddress32(ref d);
            ea = ea32;
            bool ok = cpu.TryReadFast(d.Seg, ea32, size, out uint read);
            value = read;
            return ok;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Write(Cpu cpu, ref DecodedInstruction d, int size, ulong ea, ulong value) => cpu.WriteFast(d.Seg, (uint)ea, size, (uint)value);
    }

    /// <summary>Any register or memory destination, decoded from the operand kind, with segment and paging faults.</summary>
    private readonly struct GenericDestination : IDestinationAccess
    {
        public static bool ChecksFaultState => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool TryRead(Cpu cpu, ref DecodedInstruction d, int size, out ulong value, out ulong ea)
        {
            value = cpu.ReadDestination(ref d, size, out ea);
            return true;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Write(Cpu cpu, ref DecodedInstruction d, int size, ulong ea, ulong value) => cpu.WriteDestination(ref d, size, ea, value);
    }

    /// <summary>Any source operand, decoded from the operand kind.</summary>
    private readonly struct GenericSource : ISourceAccess
    {
        public static bool ChecksFaultState => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool TryRead(Cpu cpu, ref DecodedInstruction d, int size, out ulong value)
        {
            value = cpu.ReadOperand1(ref d, size);
            return true;
        }
    }
}
