using System.Numerics;
using System.Reflection;

namespace Virt.Cpu;

/// <summary>
/// What the compiled tier's generated shifts, rotates, ADC/SBB, multiplies, bit tests and register moves reach
/// (BlockEmitter.Shift.cs, BlockEmitter.Arith.cs, BlockEmitter.Move.cs): the carry-in of the lazy record, the flag fold,
/// and the register numbers of the instructions with implicit operands.
/// </summary>
public sealed partial class Cpu
{
    /// <summary>The members of <see cref="Cpu"/> and of the state the generated arithmetic reaches (by reflection, once).</summary>
    internal static class CompiledArithMembers
    {
        /// <summary>The register number of AL/AX/EAX/RAX.</summary>
        public const int AccumulatorRegister = RegAx;

        /// <summary>The register number of CL/CX/ECX/RCX (the shift count).</summary>
        public const int CountRegister = RegCx;

        /// <summary>The register number of DX/EDX/RDX.</summary>
        public const int DataRegister = RegDx;

        private const BindingFlags Instance = BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public;

        /// <summary>CpuContext.LazyCarryIn.</summary>
        public static readonly FieldInfo LazyCarryIn = typeof(CpuContext).GetField(nameof(CpuContext.LazyCarryIn), Instance)
            ?? throw new InvalidOperationException("The compiled tier needs the field CpuContext.LazyCarryIn.");

        /// <summary>Cpu.GetFlags(): folds the lazy record into EFLAGS (LazyOp None afterwards) and returns it.</summary>
        public static readonly MethodInfo GetFlags = typeof(Cpu).GetMethod(nameof(Cpu.GetFlags), Instance, Type.EmptyTypes)
            ?? throw new InvalidOperationException("The compiled tier needs the method Cpu.GetFlags.");

        /// <summary>BitOperations.PopCount(uint), for PF of the flags a multiply sets.</summary>
        public static readonly MethodInfo PopCount = typeof(BitOperations).GetMethod(nameof(BitOperations.PopCount), [typeof(uint)])
            ?? throw new InvalidOperationException("The compiled tier needs BitOperations.PopCount(uint).");

        /// <summary>Math.BigMul(long, long, out long): the high half of a signed 64-bit product (IMUL r64).</summary>
        public static readonly MethodInfo BigMulSigned = typeof(Math).GetMethod(nameof(Math.BigMul), [typeof(long), typeof(long), typeof(long).MakeByRefType()])
            ?? throw new InvalidOperationException("The compiled tier needs Math.BigMul(long, long, out long).");
    }
}
