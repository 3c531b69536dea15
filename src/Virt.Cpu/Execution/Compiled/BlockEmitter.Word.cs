using System.Reflection.Emit;

namespace Virt.Cpu;

/// <summary>
/// The 16-bit operand-size forms of the generated instructions (MOV, ADD..TEST, INC, DEC, LEA on 16-bit registers, the
/// real-mode and 16-bit protected-mode code of most loops): a write replaces bits 0-15 and keeps the rest of the register
/// (Intel SDM Vol. 1, 3.4.1.1), reads and the flag record use the low 16 bits as the interpreter does (Cpu.ReadRegister,
/// Cpu.WriteRegister; the record keeps the unmasked values, its size 2 masks them where the flags are read).
/// </summary>
internal sealed partial class BlockEmitter
{
    /// <summary>The bits a 16-bit register write replaces.</summary>
    private const ulong WordMask = 0xFFFF;

    /// <summary>The value being merged into a register by <see cref="StoreWordRegister"/>.</summary>
    private LocalBuilder? _wordValue;

    /// <summary>Pops a value into bits 0-15 of a register's local, keeping bits 16-63 (loading the register first if needed).</summary>
    private void StoreWordRegister(int register)
    {
        ILGenerator il = _il;
        LocalBuilder value = _wordValue ??= il.DeclareLocal(typeof(ulong));
        il.Emit(OpCodes.Stloc, value);

        // The upper bits come from the register: loaded into its local first when the block has not read it yet.
        LoadRegister(register, 8);
        il.Emit(OpCodes.Ldc_I8, unchecked((long)~WordMask));
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Ldloc, value);
        il.Emit(OpCodes.Ldc_I8, (long)WordMask);
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Or);
        int r = register & RegisterNumberMask;
        il.Emit(OpCodes.Stloc, _registerLocals[r]!);
        _registerStates[r] = RegisterState.Dirty;
    }
}
